import Dispatch
import EventStore
import EventsAPI
import Foundation
import JSON
import Synchronization
import Testing

/// Hostile inputs against the running server: framing variants beyond the textbook smuggling
/// cases, foreign protocol versions, hostile JSON, gzip bombs, retailer isolation and concurrent
/// retries. Each test sends the bytes over a real socket and checks that nothing is stored that
/// should not be.
@Suite struct AdversarialTests {
    static let smuggled = #"{"name":"Smuggled","retailerId":"1","entityType":"ORDER","entityRef":"S-1"}"#

    static func eventCount(_ server: TestServer) throws -> Int64 {
        try server.store.read { try $0.scalarInteger("SELECT count(*) FROM events") } ?? -1
    }

    /// Returns a complete second request that would store an event named Smuggled if it were parsed.
    static func smuggledRequest(token: String) -> String {
        "POST /api/v4.1/event/async HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(smuggled.utf8.count)\r\n\r\n\(smuggled)"
    }

    /// Sends `bytes` on a new connection and expects one error response with `status`, then the close.
    static func expectRejected(_ server: TestServer, _ bytes: String, status: Int, _ label: String) throws {
        let client = try server.client()
        try client.write(bytes)
        let response = try client.readResponse()
        #expect(response.status == status, "\(label): \(response.text)")
        #expect(response.header("Connection")?.lowercased() == "close", "\(label)")
        #expect(response.errorMessage != nil, "\(label): \(response.text)")
        #expect(client.isClosedByServer(), "\(label)")
    }

    // MARK: - Framing

    @Test func transferEncodingVariantsAreNotSmuggled() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        let variants: [(framing: String, status: Int)] = [
            ("Transfer-Encoding: chunked, identity\r\n", 400),
            ("Transfer-Encoding: identity\r\n", 400),
            ("Transfer-Encoding: xchunked\r\n", 400),
            ("Transfer-Encoding: \"chunked\"\r\n", 400),
            ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", 400),
            ("Transfer-Encoding: gzip, chunked\r\n", 501),
            ("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", 501),
            ("Content-Length: 5\r\nTransfer-Encoding:\tchunked\r\n", 400),
            ("Content-Length: 5\r\nTransfer-Encoding : chunked\r\n", 400),
        ]
        for (framing, status) in variants {
            let head = "POST /api/v4.1/event/async HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n\(framing)\r\n"
            try Self.expectRejected(server, head + "0\r\n\r\n" + Self.smuggledRequest(token: token), status: status, framing)
        }

        let version10 = "POST /api/v4.1/event/async HTTP/1.0\r\nAuthorization: Bearer \(token)\r\nTransfer-Encoding: chunked\r\n\r\n"
        try Self.expectRejected(server, version10 + "0\r\n\r\n" + Self.smuggledRequest(token: token), status: 400, "HTTP/1.0 chunked")

        #expect(try Self.eventCount(server) == 0)
    }

    @Test func malformedChunkSizeLinesAreRejected() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        let head = "POST /api/v4.1/event/async HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nTransfer-Encoding: chunked\r\n\r\n"
        let cases: [(chunks: String, status: Int)] = [
            ("FFFFFFFFFFFFFFFF\r\n", 413),
            ("7FFFFFFFFFFFFFFF\r\n", 413),
            ("-1\r\n", 400),
            ("0x5\r\nhello\r\n0\r\n\r\n", 400),
            ("5 \r\nhello\r\n0\r\n\r\n", 400),
            ("5;\u{01}\r\nhello\r\n0\r\n\r\n", 400),
            ("0\n\r\n", 400),
            ("5\r\nhello\n0\r\n\r\n", 400),
        ]
        for (chunks, status) in cases {
            try Self.expectRejected(server, head + chunks + Self.smuggledRequest(token: token), status: status, chunks)
        }
        #expect(try Self.eventCount(server) == 0)
    }

    @Test func foreignProtocolVersionsAreRejected() throws {
        let server = try TestServer()
        defer { server.remove() }

        try Self.expectRejected(server, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", status: 505, "HTTP/2 preface")
        try Self.expectRejected(server, "GET /api/v4.1/event HTTP/1.2\r\nHost: 127.0.0.1\r\n\r\n", status: 505, "HTTP/1.2")
        try Self.expectRejected(server, "GET /api/v4.1/event\r\n", status: 400, "HTTP/0.9")
        try Self.expectRejected(server, "GET /api/v4.1/event HTTP/1.10\r\nHost: 127.0.0.1\r\n\r\n", status: 400, "HTTP/1.10")
        try Self.expectRejected(server, "CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n", status: 501, "CONNECT")
        try Self.expectRejected(server, String(repeating: "\r\n", count: 20) + "GET /api/v4.1/event HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                                status: 400, "20 empty lines")
    }

    // MARK: - Hostile JSON

    @Test func hostileJSONBodiesStoreNothing() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        let fields = #""retailerId":"1","entityType":"ORDER","entityRef":"J-1""#
        let nested = String(repeating: #"{"a":"#, count: 64) + "1" + String(repeating: "}", count: 64)
        let bodies: [(label: String, body: [UInt8])] = [
            ("byte order mark", [0xEF, 0xBB, 0xBF] + Array(#"{"name":"A",\#(fields)}"#.utf8)),
            ("trailing garbage", Array(#"{"name":"A",\#(fields)}x"#.utf8)),
            ("second document", Array(#"{"name":"A",\#(fields)}{}"#.utf8)),
            ("escaped duplicate key", Array(#"{"name":"A","n\u0061me":"B",\#(fields)}"#.utf8)),
            ("lone high surrogate", Array(#"{"name":"A\ud800",\#(fields)}"#.utf8)),
            ("reversed surrogate pair", Array(#"{"name":"A\udc00\ud800",\#(fields)}"#.utf8)),
            ("overlong UTF-8", Array(#"{"name":"A"#.utf8) + [0xC0, 0xAF] + Array(#"",\#(fields)}"#.utf8)),
            ("UTF-8 surrogate", Array(#"{"name":"A"#.utf8) + [0xED, 0xA0, 0x80] + Array(#"",\#(fields)}"#.utf8)),
            ("NaN", Array(#"{"name":"A",\#(fields),"attributes":{"n":NaN}}"#.utf8)),
            ("1e400", Array(#"{"name":"A",\#(fields),"attributes":{"n":1e400}}"#.utf8)),
            ("integer below Int64", Array(#"{"name":"A",\#(fields),"attributes":{"n":-9223372036854775809}}"#.utf8)),
            ("depth 65", Array(#"{"name":"A",\#(fields),"attributes":\#(nested)}"#.utf8)),
            ("retailerId 1.0", Array(#"{"name":"A","retailerId":1.0,"entityType":"ORDER","entityRef":"J-1"}"#.utf8)),
            ("type in lower case", Array(#"{"name":"A",\#(fields),"type":"general"}"#.utf8)),
            ("type ORCHESTRATION_AUDIT", Array(#"{"name":"A",\#(fields),"type":"ORCHESTRATION_AUDIT"}"#.utf8)),
            ("eventStatus field", Array(#"{"name":"A",\#(fields),"eventStatus":"COMPLETE"}"#.utf8)),
            ("scheduledOn February 30", Array(#"{"name":"A",\#(fields),"scheduledOn":"2027-02-30T00:00:00Z"}"#.utf8)),
            ("scheduledOn offset +99:99", Array(#"{"name":"A",\#(fields),"scheduledOn":"2027-01-01T00:00:00+99:99"}"#.utf8)),
        ]
        for (label, body) in bodies {
            let response = try server.request("POST", "/api/v4.1/event/async", token: token, body: body)
            #expect(response.status == 400, "\(label): \(response.text)")
            #expect(response.errorMessage != nil, "\(label): \(response.text)")
        }
        #expect(try Self.eventCount(server) == 0)
    }

    @Test func gzipBombIs413() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        // 64 MiB of spaces compress to about 64 KiB, so the decoded size passes the 1 MiB limit.
        let bomb = try Self.gzip([UInt8](repeating: UInt8(ascii: " "), count: 64 << 20))
        #expect(bomb.count < 1 << 20)
        let response = try server.request("POST", "/api/v4.1/event/async", token: token,
                                          headers: [("Content-Encoding", "gzip")], body: bomb)
        #expect(response.status == 413, "\(response.text)")
        #expect(try Self.eventCount(server) == 0)
    }

    /// Compresses `input` with the system's gzip tool.
    static func gzip(_ input: [UInt8]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-c", "-1"]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()

        let writer = stdin.fileHandleForWriting
        let data = Data(input)
        DispatchQueue.global().async {
            writer.write(data)
            try? writer.close()
        }
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestClientError("gzip exited with \(process.terminationStatus)") }
        return [UInt8](output)
    }

    // MARK: - Authorisation

    @Test func retailerUserStaysInItsRetailers() throws {
        let server = try TestServer()
        defer { server.remove() }
        let demo = try server.token()
        let retailer1 = try server.token("retailer1")

        let foreign = try server.postEvent(#"{"name":"Secret","retailerId":"2","entityType":"ORDER","entityRef":"SEC-1","type":"GENERAL"}"#, token: demo)
        let before = try Self.eventCount(server)

        for retailer in [#""01""#, #"" 1""#, #""1 ""#, "2", #""2""#] {
            let body = #"{"name":"X","retailerId":\#(retailer),"entityType":"ORDER","entityRef":"X-1","type":"GENERAL"}"#
            let response = try server.request("POST", "/api/v4.1/event/async", token: retailer1, json: body)
            #expect(response.status == 403, "retailerId \(retailer): \(response.text)")
        }
        #expect(try Self.eventCount(server) == before)

        let read = try server.request("GET", "/api/v4.1/event/\(foreign)", token: retailer1)
        #expect(read.status == 404)
        let listed = try server.request("GET", "/api/v4.1/event?name=Secret", token: retailer1)
        #expect(listed.status == 200)
        #expect(try listed.json()["count"] == 0)
        for retailer in ["2", "01", "1%20"] {
            let filtered = try server.request("GET", "/api/v4.1/event?retailerId=\(retailer)", token: retailer1)
            #expect(filtered.status == 403, "retailerId=\(retailer): \(filtered.text)")
        }
    }

    @Test func bearerTokenVariantsAreChecked() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        let rejected = ["Bearer", "Bearer ", "Basic ZGVtbzpkZW1v", "Bearer \(token)x", "Bearer \(token.dropLast())", "Token \(token)"]
        for value in rejected {
            let response = try server.request("GET", "/api/v4.1/event?count=1", headers: [("Authorization", value)])
            #expect(response.status == 401, "\(value)")
            #expect(response.header("WWW-Authenticate")?.hasPrefix("Bearer") == true, "\(value)")
        }
        let queryToken = try server.request("GET", "/api/v4.1/event?access_token=\(token)")
        #expect(queryToken.status == 401)
    }

    // MARK: - Concurrency

    @Test func simultaneousIdempotentRetriesStoreOneEvent() throws {
        let server = try TestServer()
        defer { server.remove() }
        let token = try server.token()

        let body = #"{"name":"Retry","retailerId":"1","entityType":"ORDER","entityRef":"R-1","type":"GENERAL"}"#
        let eventIDs = Mutex<[String]>([])
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            do {
                let response = try server.request("POST", "/api/v4.1/event/async", token: token,
                                                  headers: [("Idempotency-Key", "retry-race-1")], json: body)
                guard response.status == 200, let id = try response.json()["eventId"]?.stringValue else {
                    failures.withLock { $0.append("\(response.status) \(response.text)") }
                    return
                }
                eventIDs.withLock { $0.append(id) }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }

        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        #expect(eventIDs.withLock { $0.count } == 16)
        #expect(Set(eventIDs.withLock { $0 }).count == 1)
        #expect(try Self.eventCount(server) == 1)
    }
}
