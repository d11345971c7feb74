import Synchronization

/// Whether the workflow engine runs: set after it started, cleared before it stops.
final class EngineRunningFlag: Sendable {
    private let value = Atomic<Bool>(false)

    func set(_ running: Bool) {
        value.store(running, ordering: .releasing)
    }

    func get() -> Bool {
        value.load(ordering: .acquiring)
    }
}
