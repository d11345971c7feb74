import Foundation
import HTTP
import Telemetry

// Serves a fixed event document at GET /api/v4.1/event/{eventId} through HTTPServer, for
// bench/http.sh. Usage: http-bench-server [port [document-file [event-loops]]]; the port
// defaults to 18090, the document to the built-in copy of the one the nginx anchor serves (so
// both send the same bytes), and the event-loop count to one per processor.

let document = #"{"id":"0190f1a2-7b3c-7d4e-8f00-112233445566","name":"ConfirmPick","type":"ORCHESTRATION","accountId":"ACME","retailerId":"1","category":"ORDER_WORKFLOW","context":{"sourceEvents":[],"entityType":"FULFILMENT","entityId":"5512","entityRef":"F-5512","rootEntityType":"ORDER","rootEntityId":"1234","rootEntityRef":"HD-1234"},"eventStatus":"COMPLETE","attributes":{"pickedItems":[{"skuRef":"SKU-1","quantity":2}],"pickedBy":"WMS"},"source":"Fluent-API","generatedBy":"wms-integration","generatedOn":"2026-12-01T10:00:00.000Z"}"#
let arguments = CommandLine.arguments
var documentBytes = Array(document.utf8)
if arguments.count > 2 {
    guard let data = FileManager.default.contents(atPath: arguments[2]) else {
        LogSink.writeToStandardError("http-bench-server: cannot read the document file \(arguments[2])\n")
        exit(2)
    }
    documentBytes = Array(data)
}
let body = documentBytes

LogSink.shared.configure(level: .warning, format: .logfmt)

var router = Router()
router.add(.get, "/api/v4.1/event/{eventId}") { _, responder in
    responder.send(.json(200, bytes: body))
}

var configuration = HTTPServerConfiguration()
configuration.port = arguments.count > 1 ? Int(arguments[1]) ?? 18_090 : 18_090
configuration.accessLogLevel = .debug
if arguments.count > 3, let loops = Int(arguments[3]) {
    configuration.eventLoopCount = loops
}

let server = HTTPServer(configuration: configuration, router: router)
do {
    let port = try server.start()
    // Written with write(2), unbuffered, because a test reads the port from a pipe.
    let line = Array("http-bench-server listening on http://127.0.0.1:\(port), document of \(body.count) bytes\n".utf8)
    _ = line.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
} catch {
    LogSink.writeToStandardError("http-bench-server: \(error)\n")
    exit(1)
}
server.waitUntilStopped()
