import CSystem
import Foundation
import Synchronization
import Testing
@testable import HTTP

/// A `.blocking` route's fast path returns a response on the event loop; when it returns nil, the handler
/// runs on the worker pool.
@Suite struct FastPathTests {
    @Test func fastPathAnswersOrHandsOn() throws {
        let loopThreads = Mutex<Set<Int32>>([])
        let handlerThreads = Mutex<[Int32]>([])
        let server = try TestServer(routes: { router in
            router.add(.get, "/cached/{key}", execution: .blocking, fastPath: { request in
                loopThreads.withLock { _ = $0.insert(cs_gettid()) }
                guard request.pathParameters["key"] == "hit" else { return nil }
                return .json(200, ["from": "fastPath"])
            }) { _, responder in
                handlerThreads.withLock { $0.append(cs_gettid()) }
                responder.send(.json(200, ["from": "handler"]))
            }
        })
        defer { server.stop() }

        let hit = try ProtocolTests.exchange(server, request(["GET /cached/hit HTTP/1.1", "Host: a"]))
        #expect(hit.bodyText == #"{"from":"fastPath"}"#)
        #expect(handlerThreads.withLock { $0.isEmpty })

        let miss = try ProtocolTests.exchange(server, request(["GET /cached/miss HTTP/1.1", "Host: a"]))
        #expect(miss.bodyText == #"{"from":"handler"}"#)
        #expect(handlerThreads.withLock { $0.count } == 1)

        // The fast path ran on loop threads, the handler on a worker, never on a loop.
        let loops = loopThreads.withLock { $0 }
        let workers = handlerThreads.withLock { $0 }
        #expect(!loops.isEmpty)
        #expect(loops.isDisjoint(with: workers))
    }
}
