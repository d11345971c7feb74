#!/usr/bin/env bash
# Compares our strict JSONParser with Foundation's JSONSerialization on a typical event body
# (325 bytes, the shape of a WMS pick confirmation). Builds bench/json-parse.swift in release
# mode in a scratch package that links Sources/JSON, then prints microseconds per parse.
# Usage: bench/json.sh   (about a minute on 2 cores, most of it compiling)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${JSON_BENCH_DIR:-/tmp/events-json-bench}
mkdir -p "$work/Sources/JSONParseBenchmark"
ln -sfn "$repo/Sources/JSON" "$work/Sources/JSON"
cp "$repo/bench/json-parse.swift" "$work/Sources/JSONParseBenchmark/main.swift"
cat >"$work/Package.swift" <<'SWIFT'
// swift-tools-version:6.0
import PackageDescription
let package = Package(
    name: "json-parse-benchmark",
    targets: [
        .target(name: "JSON"),
        .executableTarget(name: "JSONParseBenchmark", dependencies: ["JSON"]),
    ],
    swiftLanguageModes: [.v6]
)
SWIFT
(cd "$work" && swift build -c release --product JSONParseBenchmark >/dev/null)
"$work/.build/release/JSONParseBenchmark"
