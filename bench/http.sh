#!/usr/bin/env bash
# Benchmarks the HTTP layer against the nginx anchor in one run: wrk with keep-alive (-t2 -c64)
# on GET /api/v4.1/event/{id}, where both servers send the same fixed JSON document, then the
# resident memory of our server with 1,000 idle keep-alive connections. Our server runs twice:
# with its default of one event loop per processor, and with one loop like nginx's one worker.
#
# Usage: bench/http.sh            (DURATION=10s, CONNECTIONS=64, IDLE=1000 to change)
# Needs: the anchors script (ANCHORS, default ../shared/bench/anchors.sh from the repository
# root), which installs nginx and wrk when they are missing; python3 for the idle clients.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
idle=${IDLE:-1000}
port=${PORT:-18090}
anchors=${ANCHORS:-$root/../shared/bench/anchors.sh}
anchor_state=${ANCHORS_DIR:-/tmp/events-anchors}
scratch=${SCRATCH:-/tmp/events-bench-http-build}
event_id=0190f1a2-7b3c-7d4e-8f00-112233445566
path=/api/v4.1/event/$event_id

echo "building http-bench-server (release)..."
swift build -c release --scratch-path "$scratch" --product http-bench-server >/dev/null
server_binary="$scratch/release/http-bench-server"

server_pid=""
single_pid=""
started_anchors=0
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "$single_pid" ] && kill "$single_pid" 2>/dev/null || true
  # Anchors that were already running belong to someone else's run: leave them.
  [ "$started_anchors" = 1 ] && "$anchors" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

if ! curl -fs "http://127.0.0.1:18081$path" >/dev/null 2>&1; then
  "$anchors" start >/dev/null
  started_anchors=1
fi
document="$anchor_state/root$path"
"$server_binary" "$port" "$document" >/tmp/http-bench-server.log 2>&1 &
server_pid=$!
"$server_binary" "$((port + 1))" "$document" 1 >/tmp/http-bench-server-1.log 2>&1 &
single_pid=$!
for _ in $(seq 1 50); do
  curl -fs "http://127.0.0.1:$port$path" >/dev/null 2>&1 && curl -fs "http://127.0.0.1:$((port + 1))$path" >/dev/null 2>&1 && break
  sleep 0.1
done
nginx_url="http://127.0.0.1:18081$path"
ours_url="http://127.0.0.1:$port$path"
single_url="http://127.0.0.1:$((port + 1))$path"
cmp -s <(curl -fs "$nginx_url") <(curl -fs "$ours_url") || { echo "the two servers send different documents" >&2; exit 1; }
bytes=$(curl -fs "$ours_url" | wc -c)

# Prints "requests_per_second p99_ms" from one wrk run.
run_wrk() {
  wrk -t2 -c"$connections" -d"$duration" --latency "$1" | awk '
    /Requests\/sec:/ { rps = $2 }
    $1 == "99%" {
      value = $2
      if (value ~ /us$/) { sub(/us$/, "", value); ms = value / 1000 }
      else if (value ~ /ms$/) { sub(/ms$/, "", value); ms = value }
      else if (value ~ /s$/) { sub(/s$/, "", value); ms = value * 1000 }
    }
    END { printf "%s %.2f\n", rps, ms }'
}

echo "warming up..."
wrk -t2 -c"$connections" -d2s "$nginx_url" >/dev/null
wrk -t2 -c"$connections" -d2s "$ours_url" >/dev/null
wrk -t2 -c"$connections" -d2s "$single_url" >/dev/null

read -r nginx_rps nginx_p99 < <(run_wrk "$nginx_url")
read -r ours_rps ours_p99 < <(run_wrk "$ours_url")
read -r single_rps single_p99 < <(run_wrk "$single_url")
ratio=$(awk -v a="$ours_rps" -v b="$nginx_rps" 'BEGIN { printf "%.2f", a / b }')
single_ratio=$(awk -v a="$single_rps" -v b="$nginx_rps" 'BEGIN { printf "%.2f", a / b }')

nginx_pids=$(pgrep -P "$(cat "$anchor_state/nginx.pid")" | tr '\n' ',')$(cat "$anchor_state/nginx.pid")
ours_memory=$(python3 bench/idle_connections.py "$port" "$path" "$server_pid" "$idle")
nginx_memory=$(python3 bench/idle_connections.py 18081 "$path" "$nginx_pids" "$idle")

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
echo "document: $bytes bytes; wrk -t2 -c$connections -d$duration --latency"
printf '%-28s %12s %10s\n' server "requests/s" "p99 ms"
printf '%-28s %12s %10s\n' "nginx (1 worker)" "$nginx_rps" "$nginx_p99"
printf '%-28s %12s %10s\n' "http-bench-server ($(nproc) loops)" "$ours_rps" "$ours_p99"
printf '%-28s %12s %10s\n' "http-bench-server (1 loop)" "$single_rps" "$single_p99"
echo "ratio ours/nginx: $ratio with $(nproc) loops, $single_ratio with 1 loop (target >= 0.8); p99 target <= 5 ms"
echo "idle keep-alive connections ($idle), resident memory in KiB:"
echo "  http-bench-server: $ours_memory (target <= 40960 with idle)"
echo "  nginx:             $nginx_memory"
