import Glibc
import Synchronization
import Telemetry
import Testing
@testable import HTTP

/// The access-log line and the request id on every log line of a request.
@Suite struct AccessLogTests {
    final class Capture: Sendable {
        let lines = Mutex<[String]>([])
    }

    @Test func accessLineAndRequestIDs() throws {
        let capture = Capture()
        // Lines still reach standard error; only this test captures them, and it restores the
        // default output afterwards.
        LogSink.shared.configure(level: .info, format: .logfmt) { line in
            capture.lines.withLock { $0.append(line) }
            LogSink.writeToStandardError(line)
        }
        defer { LogSink.shared.configure(level: .info, format: .logfmt, output: LogSink.writeToStandardError) }

        let server = try TestServer({ $0.accessLogLevel = .info }, routes: { router in
            router.add(.get, "/logged") { request, responder in
                request.logger.info("handler ran")
                responder.send(.json(200, ["logged": true]))
            }
        })
        defer { server.stop() }
        let client = try server.client()
        client.send(request(["GET /logged?x=1 HTTP/1.1", "Host: a", "X-Request-ID: access-log-1"]))
        #expect(try client.readResponse()?.status == 200)
        client.send(request(["GET /missing HTTP/1.1", "Host: a"]))
        let missing = try #require(try client.readResponse())
        let generatedID = try #require(missing.headers["X-Request-ID"])

        // The access line is written when the response is queued, just before it is sent.
        var lines: [String] = []
        for _ in 0..<200 {
            lines = capture.lines.withLock { $0 }
            if lines.contains(where: { $0.contains("requestId=\(generatedID)") }) { break }
            usleep(5_000)
        }
        let handlerLine = try #require(lines.first { $0.contains("msg=\"handler ran\"") })
        #expect(handlerLine.contains("requestId=access-log-1"))
        let access = try #require(lines.first { $0.contains("msg=request") && $0.contains("requestId=access-log-1") })
        #expect(access.contains("level=info"))
        #expect(access.contains("method=GET"))
        #expect(access.contains("path=/logged "), "the query can carry credentials, so it is not logged")
        #expect(!access.contains("x=1"))
        #expect(access.contains("status=200"))
        #expect(access.contains("bytes=15"))
        #expect(access.contains("durationMs="))
        #expect(access.contains("remote=127.0.0.1"))
        let missingLine = try #require(lines.first { $0.contains("msg=request") && $0.contains("requestId=\(generatedID)") })
        #expect(missingLine.contains("status=404"))
    }
}
