import CSystem

/// Caps the number of glibc malloc arenas for the server process.
///
/// glibc gives threads that allocate at the same time arenas of their own, up to eight per
/// core on 64-bit systems, and an arena seldom returns freed memory to the system. The workflow workers
/// read the queue back from the database in bursts, each on its own thread, so every worker's
/// arena grows to the size of a burst. With two arenas, the POST benchmark's peak resident
/// memory went from 150 to 133 MiB at the same request rate (mallopt(3), M_ARENA_MAX).
enum MallocArenas {
    static let serverLimit: Int32 = 2

    /// Applies `serverLimit`, unless MALLOC_ARENA_MAX is set in the environment, which wins.
    /// Returns the limit applied, or nil.
    @discardableResult
    static func limit(environment: [String: String]) -> Int32? {
        guard environment["MALLOC_ARENA_MAX"] == nil else { return nil }
        return cs_limit_malloc_arenas(serverLimit) == 1 ? serverLimit : nil
    }
}
