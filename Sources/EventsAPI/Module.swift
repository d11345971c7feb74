// Module EventsAPI: replaced as the layer is built.
