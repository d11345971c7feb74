import EventStore
import Testing

@Suite struct WriterCacheSizeTests {
    @Test func writerUsesConfiguredCacheSize() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        // A negative cache_size is a size in KiB (https://sqlite.org/pragma.html#pragma_cache_size).
        let cacheSize = try store.writer.perform { try $0.scalarInteger("PRAGMA cache_size") }
        #expect(cacheSize == -Int64(EventStore.Configuration().writerCacheSizeKiB))
        #expect(EventStore.Configuration().writerCacheSizeKiB == 64 * 1024)
    }

    @Test func readerKeepsSmallCache() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try EventStore(path: directory.databasePath)
        defer { store.close() }

        let cacheSize = try store.read { try $0.scalarInteger("PRAGMA cache_size") }
        #expect(cacheSize == -Int64(EventStore.Configuration().readerCacheSizeKiB))
    }
}
