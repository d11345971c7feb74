// Module Workflow: replaced as the layer is built.
