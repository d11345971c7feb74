#!/usr/bin/env bash
# Runs the whole test suite: unit tests, raw-socket tests on 127.0.0.1 and curl tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
swift test --skip-build "$@"
