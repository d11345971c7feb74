import Foundation
import Testing
@testable import HTTP

/// The server checked with real curl: verbose output, compression, HTTP/1.0, 100-continue and
/// a gzip-encoded upload.
@Suite struct CurlTests {
    struct CurlResult {
        var status: Int32
        var output: String
        var verbose: String
        var seconds: Double
    }

    static func curl(_ arguments: [String]) throws -> CurlResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["--silent", "--show-error", "--max-time", "10"] + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let start = RawClient.now()
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CurlResult(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                          verbose: String(decoding: errorData, as: UTF8.self), seconds: RawClient.now() - start)
    }

    static func temporaryFile(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "http-curl-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func verboseGet() throws {
        let server = try TestServer()
        defer { server.stop() }
        let result = try CurlTests.curl(["-v", "http://127.0.0.1:\(server.port)/hello", "-H", "X-Request-ID: curl-test-1"])
        #expect(result.status == 0)
        #expect(result.output == "hello")
        #expect(result.verbose.contains("< HTTP/1.1 200 OK"))
        #expect(result.verbose.contains("< X-Request-ID: curl-test-1"))
        #expect(result.verbose.contains("< Content-Length: 5"))
        #expect(result.verbose.contains("< Date: "))
    }

    @Test func compressedDownload() throws {
        let server = try TestServer()
        defer { server.stop() }
        let result = try CurlTests.curl(["-v", "--compressed", "http://127.0.0.1:\(server.port)/big"])
        #expect(result.status == 0)
        #expect(Array(result.output.utf8) == TestServer.bigDocument)
        #expect(result.verbose.contains("< Content-Encoding: gzip"))
        #expect(result.verbose.contains("< Vary: Accept-Encoding"))
        let plain = try CurlTests.curl(["-v", "http://127.0.0.1:\(server.port)/big"])
        #expect(!plain.verbose.contains("Content-Encoding"))
        #expect(Array(plain.output.utf8) == TestServer.bigDocument)
    }

    @Test func http10Request() throws {
        let server = try TestServer()
        defer { server.stop() }
        let result = try CurlTests.curl(["-v", "--http1.0", "http://127.0.0.1:\(server.port)/hello"])
        #expect(result.status == 0)
        #expect(result.output == "hello")
        #expect(result.verbose.contains("> GET /hello HTTP/1.0"))
        #expect(result.verbose.contains("< Connection: close"))
    }

    @Test func expectContinueUpload() throws {
        let server = try TestServer()
        defer { server.stop() }
        let body = Array(String(repeating: "x", count: 10_000).utf8)
        let file = try CurlTests.temporaryFile(body)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try CurlTests.curl(["-v", "-H", "Expect: 100-continue", "--data-binary", "@\(file)",
                                         "http://127.0.0.1:\(server.port)/events"])
        #expect(result.status == 0)
        #expect(result.verbose.contains("< HTTP/1.1 100 Continue"))
        #expect(result.verbose.contains("< HTTP/1.1 201 Created"))
        #expect(result.output == #"{"length":10000}"#)
        // curl gives up waiting for a 100 after a second and says so in its verbose output.
        #expect(!result.verbose.contains("Done waiting for 100-continue"))
    }

    @Test func gzipEncodedUpload() throws {
        let server = try TestServer()
        defer { server.stop() }
        let body = Array(String(repeating: #"{"name":"Probe"}"#, count: 500).utf8)
        let compressed = try #require(GzipCodec(level: 6).compress(body))
        let file = try CurlTests.temporaryFile(compressed)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try CurlTests.curl(["-v", "-H", "Content-Encoding: gzip", "-H", "Content-Type: application/json",
                                         "--data-binary", "@\(file)", "http://127.0.0.1:\(server.port)/events"])
        #expect(result.status == 0)
        #expect(result.output == "{\"length\":\(body.count)}")
        #expect(server.storedBodies == [String(decoding: body, as: UTF8.self)])

        let unsupported = try CurlTests.curl(["-H", "Content-Encoding: br", "--data-binary", "@\(file)",
                                              "-w", "%{http_code}", "http://127.0.0.1:\(server.port)/events"])
        #expect(unsupported.output.hasSuffix("415"))
        #expect(unsupported.output.contains("Content-Encoding br is not supported"))
    }

    @Test func headAndIPv6() throws {
        let server = try TestServer()
        defer { server.stop() }
        let head = try CurlTests.curl(["-I", "http://127.0.0.1:\(server.port)/big"])
        #expect(head.status == 0)
        #expect(head.output.contains("Content-Length: \(TestServer.bigDocument.count)"))

        guard let v6 = try? TestServer({ $0.host = "::1" }) else { return }
        defer { v6.stop() }
        let result = try CurlTests.curl(["-g", "http://[::1]:\(v6.port)/hello"])
        #expect(result.status == 0)
        #expect(result.output == "hello")
    }
}
