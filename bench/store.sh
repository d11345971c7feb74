#!/usr/bin/env bash
# Times the event store alone (no HTTP): fetchJSON of one event, listJSON of one order's ten
# events and inserts in one transaction, over 10,000 stored events in a temporary database.
# Builds bench/store-micro.swift in release mode in a scratch package that links the sources.
# Usage: bench/store.sh   (about a minute on 2 cores, most of it compiling)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${STORE_BENCH_DIR:-/tmp/events-store-bench}
mkdir -p "$work/Sources/StoreMicroBenchmark"
for module in CSQLite JSON Telemetry EventStore; do ln -sfn "$repo/Sources/$module" "$work/Sources/$module"; done
cp "$repo/bench/store-micro.swift" "$work/Sources/StoreMicroBenchmark/main.swift"
cat >"$work/Package.swift" <<'SWIFT'
// swift-tools-version:6.0
import PackageDescription
let package = Package(
    name: "store-micro-benchmark",
    targets: [
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3"),
        .target(name: "JSON"),
        .target(name: "Telemetry"),
        .target(name: "EventStore", dependencies: ["CSQLite", "JSON", "Telemetry"]),
        .executableTarget(name: "StoreMicroBenchmark", dependencies: ["EventStore", "JSON"]),
    ],
    swiftLanguageModes: [.v6]
)
SWIFT
(cd "$work" && swift build -c release --product StoreMicroBenchmark >/dev/null)
"$work/.build/release/StoreMicroBenchmark" 2>/dev/null
