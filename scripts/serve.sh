#!/usr/bin/env bash
# Builds the server and starts it on the embedded defaults (Config/), or on the flags given:
#   scripts/serve.sh                  listens on 127.0.0.1:8080, data in ./data
#   scripts/serve.sh --port 9000      any `events-server serve` flag
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product events-server
exec .build/release/events-server serve "$@"
