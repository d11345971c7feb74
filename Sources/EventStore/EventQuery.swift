/// The filters and page of a list of events, as stored values (times in epoch milliseconds).
///
/// Every filter that is set must match exactly. Results are ordered newest first by
/// `generatedOn`, then by id, both descending, so offsets page through a stable order.
public struct EventQuery: Sendable, Equatable {
    public var rootEntityType: String?
    public var rootEntityId: String?
    public var rootEntityRef: String?
    public var entityType: String?
    public var entityId: String?
    public var entityRef: String?
    public var name: String?
    public var category: String?
    /// The retailers whose events may be returned; nil for any retailer, empty for none.
    public var retailerIds: [String]?
    public var eventType: String?
    public var eventStatus: String?
    /// Inclusive lower bound of `generatedOn`, in epoch milliseconds.
    public var from: Int64?
    /// Inclusive upper bound of `generatedOn`, in epoch milliseconds.
    public var to: Int64?
    /// Zero-based offset of the first result.
    public var start: Int
    /// The maximum number of results.
    public var count: Int

    public init(rootEntityType: String? = nil, rootEntityId: String? = nil, rootEntityRef: String? = nil,
                entityType: String? = nil, entityId: String? = nil, entityRef: String? = nil, name: String? = nil,
                category: String? = nil, retailerIds: [String]? = nil, eventType: String? = nil,
                eventStatus: String? = nil, from: Int64? = nil, to: Int64? = nil, start: Int = 0, count: Int = 100) {
        self.rootEntityType = rootEntityType
        self.rootEntityId = rootEntityId
        self.rootEntityRef = rootEntityRef
        self.entityType = entityType
        self.entityId = entityId
        self.entityRef = entityRef
        self.name = name
        self.category = category
        self.retailerIds = retailerIds
        self.eventType = eventType
        self.eventStatus = eventStatus
        self.from = from
        self.to = to
        self.start = start
        self.count = count
    }
}

/// One page of a list query.
public struct EventPage<Element: Sendable>: Sendable {
    public var start: Int
    public var results: [Element]
    /// True when at least one more event matches after this page.
    public var hasMore: Bool
}
