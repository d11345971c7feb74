#!/usr/bin/env bash
# Benchmarks the Events API side by side with the anchors (nginx serving a static event, and a
# typical Python service), all on 127.0.0.1, and prints requests/s, latency and resident memory:
#   1. GET /api/v4.1/event/{id} with a valid token, 64 connections: ours, nginx, Python peer
#   2. POST /api/v4.1/event/async (durable: WAL fsynced before the answer), 64 connections: ours with
#      ORCHESTRATION events (executions paced while the requests press, then the time the engine
#      takes to execute the backlog), ours with GENERAL events only, the Python peer, and ours with
#      ORCHESTRATION events and executionPacing=false (the engine runs each event as it comes)
#   3. GET /api/v4.1/event filtered by one order's audits, 16 connections, p99: over 10,000 and
#      over 1,000,000 stored events
#   4. peak resident memory (VmHWM) of each server process
# Usage: bench/api.sh   Environment: BENCH_DURATION (seconds per run, default 10), BENCH_PORT
# (default 18090), ANCHORS (path of anchors.sh). Needs wrk, curl and python3; takes ~6 minutes.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
duration=${BENCH_DURATION:-10}
port=${BENCH_PORT:-18090}
anchors=${ANCHORS:-$repo/../shared/bench/anchors.sh}
work=${BENCH_DIR:-/tmp/events-api-bench}
build=${BENCH_BUILD:-/tmp/build-bench-api}
base="http://127.0.0.1:$port"
server_pid=""
peak_rss_kib=0

say() { printf '\n== %s\n' "$*"; }

stop_server() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}

cleanup() {
  stop_server
  "$anchors" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

# Starts events-server on DATA_DIR (with executionPacing PACING, default true) and waits until
# /health answers.
start_server() {
  EVENTS_EXECUTION_PACING="${2:-true}" EVENTS_DATA_DIR="$1" EVENTS_PORT="$port" EVENTS_HOST=127.0.0.1 EVENTS_LOG_LEVEL=warning \
    EVENTS_ACCESS_LOG_LEVEL=debug "$build/release/events-server" serve --config "$repo/Config" \
    >>"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 300); do
    curl -sf "$base/health" >/dev/null 2>&1 && return 0
    kill -0 "$server_pid" 2>/dev/null || { echo "events-server exited; see $work/server.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "events-server did not answer /health within 30 s; see $work/server.log" >&2
  exit 1
}

record_rss() {
  local hwm
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
  echo "events-server peak RSS so far: $((hwm / 1024)) MiB"
  [ "$hwm" -gt "$peak_rss_kib" ] && peak_rss_kib=$hwm
  return 0
}

# Waits until the engine has executed every queued event and prints how long that took.
wait_for_engine() {
  local started=$SECONDS left
  for _ in $(seq 1 6000); do
    # Queued in memory, left in the database, and the age of the oldest PENDING event.
    left=$(curl -sf "$base/metrics" | awk '$1 ~ /^workflow_(queue_depth|queue_left_in_store|oldest_pending_age_seconds)$/ { n += $2 } END { print n + 0 }')
    if [ "$left" = "0" ]; then
      echo "the engine executed the backlog in $((SECONDS - started)) s after the run"
      return 0
    fi
    sleep 0.1
  done
  echo "the engine did not execute the backlog within 600 s" >&2
  exit 1
}

token() {
  curl -sf -X POST "$base/oauth/token?username=demo&password=demo&client_id=demo&client_secret=demo&grant_type=password&scope=api" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

# Runs wrk and prints its summary lines; the last argument is the URL.
run_wrk() {
  local label=$1; shift
  printf -- '-- %s\n' "$label"
  wrk "$@" | grep -E 'Requests/sec|Latency|99%|Non-2xx|Socket errors'
}

say "build (release)"
# Built from a copy of the sources, so edits made meanwhile cannot break the build.
rm -rf "$work" && mkdir -p "$work/source"
cp -r "$repo/Package.swift" "$repo/Sources" "$repo/Tests" "$work/source/"
(cd "$work/source" && swift build -c release --product events-server --scratch-path "$build" 2>&1 | tail -3)
"$anchors" start

say "machine"
echo "$(nproc) cores, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo), $(free -m | awk '/Mem:/ {print $2}') MiB RAM"

say "1. GET /api/v4.1/event/{id}, 64 connections, ${duration}s"
start_server "$work/data"
TOKEN=$(token)
# wrk scripts read the token from BENCH_TOKEN (events-server rejects unknown EVENTS_* variables).
export BENCH_TOKEN=$TOKEN
event_id=$(curl -sf -X POST "$base/api/v4.1/event/async" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"ConfirmPick","retailerId":"1","type":"GENERAL","entityType":"FULFILMENT","entityId":"5512","entityRef":"F-5512","rootEntityType":"ORDER","rootEntityId":"1234","rootEntityRef":"HD-1234","attributes":{"pickedItems":[{"skuRef":"SKU-1","quantity":2}],"pickedBy":"WMS"}}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["eventId"])')
peer_id=$(curl -sf -X POST http://127.0.0.1:18082/api/v4.1/event/async -H 'Content-Type: application/json' \
  -d '{"name":"ConfirmPick","retailerId":"1","entityType":"FULFILMENT","entityId":"5512","entityRef":"F-5512","rootEntityType":"ORDER","rootEntityRef":"HD-1234","attributes":{"pickedItems":[{"skuRef":"SKU-1","quantity":2}],"pickedBy":"WMS"}}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["eventId"])')
echo "our event: $(curl -s -o /dev/null -w '%{size_download}' "$base/api/v4.1/event/$event_id" -H "Authorization: Bearer $TOKEN") bytes"
run_wrk "ours" -t2 -c64 -d"${duration}s" -H "Authorization: Bearer $TOKEN" "$base/api/v4.1/event/$event_id"
run_wrk "nginx anchor" -t2 -c64 -d"${duration}s" "http://127.0.0.1:18081/api/v4.1/event/0190f1a2-7b3c-7d4e-8f00-112233445566"
run_wrk "Python peer" -t2 -c64 -d"${duration}s" "http://127.0.0.1:18082/api/v4.1/event/$peer_id"
record_rss

say "2. POST /api/v4.1/event/async, 64 connections, ${duration}s"
run_wrk "ours (WAL fsynced before each answer, group commit; executions paced while requests press)" -t2 -c64 -d"${duration}s" -s "$repo/bench/post-event.lua" "$base"
record_rss
wait_for_engine
record_rss
run_wrk "ours, GENERAL events (stored, not orchestrated)" -t2 -c64 -d"${duration}s" -s "$repo/bench/post-general-event.lua" "$base"
run_wrk "Python peer (synchronous=NORMAL, no auth)" -t2 -c64 -d"${duration}s" -s "$repo/bench/post-event.lua" "http://127.0.0.1:18082"
record_rss
stop_server
start_server "$work/data-unpaced" false
TOKEN=$(token)
export BENCH_TOKEN=$TOKEN
run_wrk "ours, executionPacing=false (the engine runs each event during the run)" -t2 -c64 -d"${duration}s" -s "$repo/bench/post-event.lua" "$base"
wait_for_engine
record_rss
stop_server
"$anchors" stop >/dev/null

say "3. filtered GET /api/v4.1/event, 16 connections, ${duration}s"
for size in 10000 1000000; do
  roots=$((size / 10))
  data="$work/data-$size"
  start_server "$data"   # creates and migrates the database
  stop_server
  started=$(date +%s)
  python3 "$repo/bench/seed-events.py" "$data/events.sqlite" "$size" "$roots"
  echo "seeded $size events for $roots orders in $(( $(date +%s) - started )) s ($(du -m "$data/events.sqlite" | cut -f1) MiB)"
  start_server "$data"
  TOKEN=$(token)
  export BENCH_TOKEN=$TOKEN BENCH_ROOTS=$roots
  curl -s "$base/api/v4.1/event?context.rootEntityType=ORDER&context.rootEntityRef=HD-1&eventType=ORCHESTRATION_AUDIT" \
    -H "Authorization: Bearer $TOKEN" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("one page:", d["count"], "events")'
  run_wrk "over $size events (warm-up)" -t2 -c16 -d2s -s "$repo/bench/filtered-get.lua" "$base" >/dev/null
  run_wrk "over $size events" -t2 -c16 -d"${duration}s" --latency -s "$repo/bench/filtered-get.lua" "$base"
  record_rss
  stop_server
done

say "4. resident memory"
echo "peak RSS of any events-server process: $((peak_rss_kib / 1024)) MiB"
