#!/usr/bin/env bash
# Workflow engine benchmark: builds events-server in release mode, starts it on 127.0.0.1 with a
# fresh database in a temporary directory, and prints:
#   1. orchestration throughput, POST /event/async to COMPLETE, of ConfirmPick (four rules, one
#      inline FulfilmentPicked event, full audit trail) posted by wrk at 64 connections for
#      BENCH_SECONDS: from the first POST until the last of these events is COMPLETE. While the
#      posts press, the server accepts them first and paces executions (see ExecutionPacing),
#      so most of them execute after wrk stops;
#   2. queue latency (accepted to committed) p50/p99 at 1,000 and 250 ConfirmPick events/s
#      offered, from the server's workflow_queue_latency_seconds histogram (linear within a bucket);
#   3. rows written per second during the throughput run (events inserted, event statuses and
#      entities updated);
#   4. the inventory feed: 10,000 InventoryDelta events of +1/-1 over 100 positions of one
#      catalogue from 32 connections, time to drain and a check of every position's sum;
#   5. each change of pacing's finding during the runs, from the server's log;
#   6. one POST /event/sync (a ConfirmPick of a fulfilment that wrk did not reach) sent as wrk
#      stops, while the throughput run's backlog executes: its answer and how long it took.
# Usage: bench/engine.sh   (about 3 minutes on 2 cores plus the release build)
# Environment: BENCH_SECONDS (wrk duration, default 4), BENCH_FULFILMENTS (orders set up for the
# throughput run, default 80000: more than wrk can post in BENCH_SECONDS, as every event needs
# a fulfilment of its own), BENCH_RATES (offered rates, default "1000 250").
# EVENTS_EXECUTION_PACING=false reaches the server and measures it with executions not paced.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${ENGINE_BENCH_BUILD:-/tmp/events-engine-bench-build}
seconds=${BENCH_SECONDS:-4}
fulfilments=${BENCH_FULFILMENTS:-80000}
rates=${BENCH_RATES:-1000 250}
work=$(mktemp -d /tmp/events-engine-bench.XXXXXX)
server_pid=""

cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
echo "building events-server (release)..." >&2
# Built from a copy of the sources, so edits made meanwhile cannot break the build.
mkdir -p "$work/source"
cp -r "$repo/Package.swift" "$repo/Sources" "$repo/Tests" "$work/source/"
if ! (cd "$work/source" && swift build -c release --product events-server --scratch-path "$build" >"$work/build.log" 2>&1); then
  echo "the release build failed:" >&2
  tail -30 "$work/build.log" >&2
  exit 1
fi
binary="$build/release/events-server"

# Access logs at debug level are below the info log level, so they are off.
"$binary" serve --config "$repo/Config" --data-dir "$work/data" --host 127.0.0.1 --port 0 \
  --log-level info --access-log-level debug 2>"$work/server.log" &
server_pid=$!
port=""
for _ in $(seq 1 200); do
  port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/server.log" | head -1)
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { echo "the server did not start:" >&2; cat "$work/server.log" >&2; exit 1; }
base="http://127.0.0.1:$port"
token=$(curl -sf -X POST "$base/oauth/token?username=demo&password=demo&client_id=demo&client_secret=demo&grant_type=password&scope=api" \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
database="$work/data/events.sqlite"

executed() {
  curl -sf "$base/metrics" | awk '$1 ~ /^workflow_events_executed_total/ { sum += $2 } END { print sum + 0 }'
}

wait_executed() {
  local target=$1 deadline=$((SECONDS + 600))
  while [ "$(executed)" -lt "$target" ]; do
    [ $SECONDS -lt $deadline ] || { echo "timed out waiting for $target executions" >&2; exit 1; }
    sleep 0.05
  done
}

rows() {
  sqlite3 -readonly "$database" "SELECT count(*) FROM events"
}

now() { date +%s.%N; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "server: events-server (release), port $port, database $database, executionPacing ${EVENTS_EXECUTION_PACING:-true}"

# 1. Throughput.
echo "setting up $fulfilments booked orders with a fulfilment awaiting pick..." >&2
python3 "$repo/bench/engine_load.py" setup "$port" "$token" B "$fulfilments" 16 >/dev/null
wait_executed $((2 * fulfilments))
before_executed=$(executed)
before_rows=$(rows)
started=$(now)
wrk_output=$(WRK_THREADS=2 EVENTS_TOKEN=$token BENCH_PREFIX=B wrk -t2 -c64 -d"${seconds}s" \
  -s "$repo/bench/engine-confirm-pick.lua" "$base" 2>&1)
posted=$(echo "$wrk_output" | awk '/requests in/ { print $1 }')
post_rate=$(echo "$wrk_output" | awk '/Requests\/sec/ { print $2 }')
non2xx=$(echo "$wrk_output" | awk '/Non-2xx/ { print $5 }')
if [ "$posted" -gt "$fulfilments" ]; then
  echo "wrk posted $posted events for $fulfilments fulfilments, so some found no fulfilment awaiting pick:" \
    "raise BENCH_FULFILMENTS or lower BENCH_SECONDS" >&2
  exit 1
fi
# 6. A sync request behind the backlog, for an order of its own.
sync_backlog=$((posted - $(executed) + before_executed))
sync_body="{\"name\":\"ConfirmPick\",\"retailerId\":\"1\",\"entityType\":\"FULFILMENT\",\"entityRef\":\"B-F-$fulfilments\",\"rootEntityType\":\"ORDER\",\"rootEntityRef\":\"B-HD-$fulfilments\",\"attributes\":{\"pickedItems\":[{\"skuRef\":\"SKU-1\",\"quantity\":2}],\"pickedBy\":\"WMS\"}}"
sync_result=$(curl -s -o "$work/sync.json" -w '%{http_code} %{time_total}' -X POST -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' -d "$sync_body" "$base/api/v4.1/event/sync")
wait_executed $((before_executed + posted + 1))
finished=$(now)
after_rows=$(rows)
complete=$(sqlite3 -readonly "$database" "SELECT count(*) FROM events WHERE name = 'ConfirmPick' AND event_status = 'COMPLETE'")
python3 - "$posted" "$started" "$finished" "$before_rows" "$after_rows" "$post_rate" "$complete" "${non2xx:-0}" <<'PY'
import sys
posted, started, finished, before, after, post_rate, complete, non2xx = sys.argv[1:]
posted, elapsed = int(posted), float(finished) - float(started)
inserted = int(after) - int(before)
# Each ConfirmPick also updates its own status and two entities (the fulfilment and the order).
written = inserted + 3 * posted
print(f"throughput: {posted} ConfirmPick events at 64 connections, POST rate {post_rate}/s, "
      f"all COMPLETE after {elapsed:.2f} s: {posted / elapsed:.0f} events/s POST-to-COMPLETE "
      f"({complete} COMPLETE with the sync request's, {non2xx} non-2xx)")
print(f"rows written: {written} in {elapsed:.2f} s = {written / elapsed:.0f} rows/s "
      f"({inserted} events inserted, {posted} statuses and {2 * posted} entities updated)")
PY

# 2. Queue latency at fixed offered rates: the target rate, then a lower one for comparison.
measure_latency() {
  local rate=$1 prefix=$2
  local latency_events=$((rate * 10))
  local before_setup
  before_setup=$(executed)
  python3 "$repo/bench/engine_load.py" setup "$port" "$token" "$prefix" "$latency_events" 16 >/dev/null
  # The setup posts two events per order; with pacing they may still be queued when it returns.
  wait_executed $((before_setup + 2 * latency_events))
  sleep 1
  curl -sf "$base/metrics" | grep '^workflow_queue_latency_seconds_bucket' >"$work/latency-before"
  local before_executed paced
  before_executed=$(executed)
  paced=$(python3 "$repo/bench/engine_load.py" paced "$port" "$token" "$prefix" 1 "$latency_events" "$rate" 16)
  wait_executed $((before_executed + latency_events))
  curl -sf "$base/metrics" | grep '^workflow_queue_latency_seconds_bucket' >"$work/latency-after"
  python3 - "$work/latency-before" "$work/latency-after" "$paced" <<'PY2'
import json, re, sys
def read(path):
    buckets = {}
    for line in open(path):
        match = re.match(r'.*le="([^"]+)"\} (\d+)', line)
        if match:
            buckets[float("inf") if match.group(1) == "+Inf" else float(match.group(1))] = int(match.group(2))
    return buckets
before, after = read(sys.argv[1]), read(sys.argv[2])
bounds = sorted(after)
counts = [after[b] - before.get(b, 0) for b in bounds]
total = counts[-1]
def quantile(q):
    rank, previous_bound, previous_count = q * total, 0.0, 0
    for bound, count in zip(bounds, counts):
        if count >= rank:
            if bound == float("inf"):
                return previous_bound
            share = (rank - previous_count) / max(count - previous_count, 1)
            return previous_bound + share * (bound - previous_bound)
        previous_bound, previous_count = bound, count
    return previous_bound
paced = json.loads(sys.argv[3])
print(f"queue latency at {paced['offeredRate']:.0f} events/s offered (achieved {paced['achievedRate']}/s, "
      f"{total} events): p50 {quantile(0.5) * 1000:.1f} ms, p99 {quantile(0.99) * 1000:.1f} ms")
PY2
}
for offered in $rates; do
  measure_latency "$offered" "L$offered"
done

# 3. The inventory feed of the reference scenario, full size.
before_executed=$(executed)
started=$(now)
python3 "$repo/bench/engine_load.py" inventory "$port" "$token" 10000 32 100 >"$work/inventory.json"
posted_seconds=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["seconds"])' "$work/inventory.json")
inventory_errors=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["errors"])' "$work/inventory.json")
[ "$inventory_errors" = 0 ] || echo "warning: $inventory_errors inventory posts got a status other than 200" >&2
wait_executed $((before_executed + 10000))
finished=$(now)
check=$(sqlite3 -readonly "$database" "
  SELECT (SELECT count(*) FROM events WHERE name = 'InventoryDelta' AND event_status = 'COMPLETE'),
         (SELECT sum(json_extract(attributes, '$.onHand')) FROM entities WHERE entity_type = 'INVENTORY_POSITION'),
         (SELECT sum(json_extract(attributes, '$.delta')) FROM events WHERE name = 'InventoryDelta' AND type = 'ORCHESTRATION')")
python3 - "$started" "$finished" "$posted_seconds" "$check" <<'PY'
import sys
started, finished, posted_seconds, check = sys.argv[1:]
complete, on_hand, deltas = check.split("|")
elapsed = float(finished) - float(started)
print(f"inventory feed: 10000 deltas over 100 positions of one catalogue from 32 connections, posted in "
      f"{float(posted_seconds):.2f} s, all executed after {elapsed:.2f} s ({10000 / elapsed:.0f} events/s); "
      f"{complete} COMPLETE, sum of onHand {on_hand} = sum of deltas {deltas}")
PY

# 4. What pacing found during the runs: each change of finding, from the server's log.
echo "pacing findings during the runs (time, finding):"
grep -E 'msg="(pacing raises|pacing does not|paced, requests came)' "$work/server.log" \
  | sed -E 's/^time=([^ ]*) .*msg="([^"]*)"(.*)$/  \1 \2\3/' || echo "  none: requests never pressed"

# 6. Printed last, as it was sent during the throughput run.
echo "sync request sent as wrk stopped, with $sync_backlog ConfirmPick events not yet executed: HTTP ${sync_result% *} after ${sync_result#* } s: $(cat "$work/sync.json")"
