/// Learns of events that were just committed, so a consumer (the workflow engine's queue)
/// need not poll the database for new PENDING events.
public protocol EventSubmissionListener: Sendable {
    /// Called once per commit with the newly stored ORCHESTRATION events, after the commit is
    /// durable, on the database writer thread: implementations must return quickly and not block.
    func eventsAccepted(_ events: [Event])
}
