/// The loaded workflows, looked up by retailer, root entity type and root subtype.
public struct WorkflowCatalog: Sendable {
    public let workflows: [WorkflowDefinition]
    private let byKey: [Key: Int]

    private struct Key: Hashable {
        var retailerId: String
        var entityType: String
        var entitySubtype: String
    }

    public init(_ workflows: [WorkflowDefinition]) {
        self.workflows = workflows
        var byKey: [Key: Int] = [:]
        for (index, workflow) in workflows.enumerated() {
            byKey[Key(retailerId: workflow.retailerId, entityType: workflow.entityType, entitySubtype: workflow.entitySubtype)] = index
        }
        self.byKey = byKey
    }

    /// Returns the workflow for a root entity type and subtype of a retailer, or nil.
    public func workflow(retailerId: String, rootType: String, rootSubtype: String) -> WorkflowDefinition? {
        byKey[Key(retailerId: retailerId, entityType: rootType, entitySubtype: rootSubtype)].map { workflows[$0] }
    }

    /// Returns every workflow of a root entity type for a retailer, in load order.
    public func workflows(retailerId: String, rootType: String) -> [WorkflowDefinition] {
        workflows.filter { $0.retailerId == retailerId && $0.entityType == rootType }
    }
}
