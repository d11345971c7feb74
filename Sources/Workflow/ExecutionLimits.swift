/// Bounds on the work one execution may do, so a workflow that sends events in a loop fails
/// instead of running forever.
public struct ExecutionLimits: Sendable, Equatable {
    /// The maximum number of inline events (SendEvent to the same root, SendEventToChildren)
    /// one execution may run, counted over the whole chain.
    public var maxInlineEvents: Int
    /// The maximum depth of a chain of events sent by workflows, counted from the posted event
    /// (depth 0) over every hop: inline, queued for another root and scheduled. An inline event
    /// sent by an inline event is at depth 2, and so is an event queued by an inline event.
    public var maxChainDepth: Int

    public init(maxInlineEvents: Int = 1000, maxChainDepth: Int = 32) {
        self.maxInlineEvents = maxInlineEvents
        self.maxChainDepth = maxChainDepth
    }
}
