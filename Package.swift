// swift-tools-version:6.0
import PackageDescription

// One module per layer. C libraries come from Debian packages through system-library targets;
// no Swift package from outside the toolchain is used.
let package = Package(
    name: "events-server",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "events-server", targets: ["EventsServer"]),
        .executable(name: "http-bench-server", targets: ["HTTPBenchServer"]),
    ],
    targets: [
        // System shims.
        .target(name: "CSystem"),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

        // Shared building blocks.
        .target(name: "JSON"),
        .target(name: "Telemetry"),

        // Layers, bottom to top.
        .target(name: "HTTP", dependencies: ["CSystem", "CZlib", "JSON", "Telemetry"]),
        .target(name: "EventStore", dependencies: ["CSQLite", "JSON", "Telemetry"]),
        .target(name: "Workflow", dependencies: ["CSystem", "EventStore", "JSON", "Telemetry"]),
        .target(name: "EventsAPI", dependencies: ["HTTP", "EventStore", "Workflow", "CCrypto", "CSystem", "JSON", "Telemetry"]),
        // Serves a fixed document through HTTPServer for bench/http.sh.
        .executableTarget(name: "HTTPBenchServer", dependencies: ["HTTP", "Telemetry"]),
        .executableTarget(name: "EventsServer", dependencies: ["CSystem", "EventsAPI", "HTTP", "EventStore", "Workflow", "JSON", "Telemetry"]),

        // Helpers shared by the test targets (a webhook receiver on 127.0.0.1).
        .target(name: "TestSupport", path: "Tests/TestSupport"),

        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "TelemetryTests", dependencies: ["Telemetry"]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP", "CSystem", "JSON", "Telemetry"]),
        .testTarget(name: "EventStoreTests", dependencies: ["EventStore", "CSQLite", "JSON", "Telemetry"]),
        .testTarget(name: "WorkflowTests", dependencies: ["Workflow", "EventStore", "JSON", "Telemetry", "TestSupport"]),
        .testTarget(name: "EventsAPITests", dependencies: ["EventsAPI", "CCrypto", "HTTP", "EventStore", "Workflow", "JSON", "Telemetry", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
