import JSON

/// An orchestrated entity: an order, a fulfilment, an inventory position... as the workflow
/// engine keeps it. Entities are unique by retailer, type and ref.
public struct Entity: Sendable, Equatable {
    public var retailerId: String
    public var type: String
    public var ref: String
    public var id: String
    public var subtype: String?
    public var status: String
    public var attributes: JSONObject
    public var rootType: String
    public var rootRef: String
    public var rootId: String?
    /// The workflow the entity runs on (`ORDER::HD`) and its version, set by the engine.
    public var workflowName: String?
    public var workflowVersion: String?
    /// Epoch milliseconds.
    public var createdOn: Int64
    public var updatedOn: Int64
    /// Incremented by every update; 0 for an entity not stored yet. Updates check it so that
    /// two executions can never overwrite each other's changes unnoticed.
    public var version: Int64

    public init(retailerId: String, type: String, ref: String, id: String, subtype: String? = nil, status: String,
                attributes: JSONObject = JSONObject(), rootType: String, rootRef: String, rootId: String? = nil,
                workflowName: String? = nil, workflowVersion: String? = nil, createdOn: Int64, updatedOn: Int64,
                version: Int64 = 0) {
        self.retailerId = retailerId
        self.type = type
        self.ref = ref
        self.id = id
        self.subtype = subtype
        self.status = status
        self.attributes = attributes
        self.rootType = rootType
        self.rootRef = rootRef
        self.rootId = rootId
        self.workflowName = workflowName
        self.workflowVersion = workflowVersion
        self.createdOn = createdOn
        self.updatedOn = updatedOn
        self.version = version
    }

    public var key: EntityKey {
        EntityKey(retailerId: retailerId, type: type, ref: ref)
    }

    /// Whether the entity is its own root.
    public var isRoot: Bool {
        type == rootType && ref == rootRef
    }
}

/// The identity of an entity: retailer, type and ref.
public struct EntityKey: Sendable, Hashable, CustomStringConvertible {
    public var retailerId: String
    public var type: String
    public var ref: String

    public init(retailerId: String, type: String, ref: String) {
        self.retailerId = retailerId
        self.type = type
        self.ref = ref
    }

    public var description: String {
        "\(type)/\(ref) of retailer \(retailerId)"
    }
}
