#!/usr/bin/env bash
# Builds the container image with podman and checks it the way an operator would use it:
#   1. the image is at most 120 MB and refuses to start without credentials;
#   2. with users from EVENTS_USERS_JSON it starts, passes its HEALTHCHECK and the README
#      walkthrough, published on 127.0.0.1 only;
#   3. events are posted while `podman stop` sends SIGTERM; after a restart on the same /data
#      volume every event that got a 200 is stored and executed.
# Needs root and podman with the base images (see ../shared/container/make-local-images.sh when
# no registry is reachable). Not part of .ci/run: it takes minutes.
#   scripts/container-test.sh [IMAGE_TAG]
set -euo pipefail
cd "$(dirname "$0")/.."

image=${1:-localhost/events-server:test}
name=events-server-test-$$
volume=events-server-test-data-$$
work=$(mktemp -d)
maximum_megabytes=120
podman_run_flags=(--runtime /usr/sbin/runc --ulimit nofile=4096:4096 --ulimit nproc=4096:4096)

log() { echo "container-test: $*" >&2; }
fail() {
  log "FAILED: $*"
  podman logs "$name" 2>&1 | tail -40 >&2 || true
  exit 1
}
cleanup() {
  podman rm -f "$name" >/dev/null 2>&1 || true
  podman volume rm -f "$volume" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# 1. Build. --format docker keeps HEALTHCHECK, which the OCI image format drops.
log "building $image"
build_started=$(date +%s)
podman build --format docker "${podman_run_flags[@]}" --network=host \
  -v /opt/swift:/opt/swift:ro -t "$image" . >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log" >&2; fail "podman build failed"; }
log "built in $(( $(date +%s) - build_started )) s"

bytes=$(podman image inspect --format '{{.Size}}' "$image")
megabytes=$(( (bytes + 999999) / 1000000 ))
log "image size: $bytes bytes ($megabytes MB)"
[ "$megabytes" -le "$maximum_megabytes" ] || fail "image is $megabytes MB, more than $maximum_megabytes MB"

if podman run --rm "${podman_run_flags[@]}" "$image" >"$work/refused.log" 2>&1; then
  fail "the image started without any credentials"
fi
grep -q "users file /app/Config/users.json not found" "$work/refused.log" \
  || fail "no clear message without credentials: $(cat "$work/refused.log")"
log "without credentials the image refuses to start, as it must"

# 2. Credentials made with the image's own hash-password, given through the environment.
password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
secret=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
password_hash=$(printf '%s\n' "$password" | podman run --rm -i "${podman_run_flags[@]}" "$image" hash-password)
secret_hash=$(printf '%s\n' "$secret" | podman run --rm -i "${podman_run_flags[@]}" "$image" hash-password)
users_json=$(printf '{"accountId":"ACME","users":[{"username":"operator","passwordHash":"%s"}],"clients":[{"clientId":"integration","secretHash":"%s"}]}' \
  "$password_hash" "$secret_hash")
credentials="username=operator&password=$password&client_id=integration&client_secret=$secret"

podman volume create "$volume" >/dev/null
# Without systemd, podman prints an error about healthcheck timers on each run, start and stop;
# that output goes to podman.log.
podman run -d --name "$name" "${podman_run_flags[@]}" -p 127.0.0.1::8080 -v "$volume:/data" \
  -e EVENTS_USERS_JSON="$users_json" "$image" >/dev/null 2>>"$work/podman.log"
port=$(podman port "$name" 8080 | head -1 | sed 's/.*://')
base=http://127.0.0.1:$port

wait_for_health() {
  local deadline=$(( $(date +%s) + 60 ))
  until curl -sf "$base/health" >/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "no answer on $base/health within 60 s"
    sleep 0.2
  done
}
wait_for_health
log "serving on $base"
podman healthcheck run "$name" >/dev/null 2>>"$work/podman.log" || fail "the image's HEALTHCHECK failed"
curl -sf "$base/ready" | grep -q '"status":"READY"' || fail "/ready is not READY"
# sed reads the whole log: `head -1` would close the pipe early, and under pipefail the
# SIGPIPE of `podman logs` would fail the check even when the line is right.
first_line=$(podman logs "$name" 2>&1 | sed -n 1p)
grep -q "listening on http://0.0.0.0:8080" <<<"$first_line" \
  || fail "the first log line does not announce the address: $first_line"

scripts/walkthrough.sh "$base" "$credentials" >"$work/walkthrough.log" 2>&1 \
  || { cat "$work/walkthrough.log" >&2; fail "the README walkthrough failed against the container"; }
log "README walkthrough passed"

# 3. Post events while the container is stopped with SIGTERM, then restart it.
token=$(curl -s -X POST "$base/oauth/token?$credentials&grant_type=password&scope=api" \
  | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || fail "no token"
accepted=$work/accepted-ids
: >"$accepted"
post_events() {
  local index=0
  while [ "$index" -lt 400 ]; do
    local ref="STOP-$$-$index"
    local answer
    answer=$(curl -s --max-time 5 -X POST "$base/api/v4.1/event/async" \
      -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
      -d '{"name":"CREATE","retailerId":"1","entityType":"ORDER","entitySubtype":"HD","entityRef":"'"$ref"'","rootEntityType":"ORDER","rootEntityRef":"'"$ref"'","attributes":{"customerRef":"C-1","totalPrice":10.5,"currency":"AUD"}}' \
      -w '\n%{http_code}') || break
    if [ "$(tail -1 <<<"$answer")" = 200 ]; then
      sed -n 's/.*"eventId":"\([^"]*\)".*/\1/p' <<<"$answer" >>"$accepted"
    fi
    index=$((index + 1))
  done
}
post_events &
poster=$!
until [ "$(wc -l <"$accepted")" -ge 50 ]; do sleep 0.05; done
stop_started=$(date +%s%N)
podman stop -t 30 "$name" >/dev/null 2>>"$work/podman.log"
log "stopped with SIGTERM in $(( ($(date +%s%N) - stop_started) / 1000000 )) ms"
wait "$poster" || true
count=$(wc -l <"$accepted")
log "$count events accepted before the stop"

podman logs "$name" >"$work/first-run.log" 2>&1
grep -q 'msg="shutting down" signal=SIGTERM' "$work/first-run.log" || fail "no graceful shutdown on SIGTERM"
grep -q "database closed" "$work/first-run.log" || fail "the database was not closed on SIGTERM"

podman start "$name" >/dev/null 2>>"$work/podman.log"
port=$(podman port "$name" 8080 | head -1 | sed 's/.*://')
base=http://127.0.0.1:$port
wait_for_health

# Every accepted event must be stored and, after the restart reloads PENDING ones, executed.
deadline=$(( $(date +%s) + 60 ))
while read -r id; do
  while true; do
    event=$(curl -s "$base/api/v4.1/event/$id" -H "Authorization: Bearer $token")
    case "$event" in
      *'"eventStatus":"COMPLETE"'*) break ;;
      *'"eventStatus":"PENDING"'*) ;;
      *) fail "accepted event $id is lost or ended otherwise: $event" ;;
    esac
    [ "$(date +%s)" -lt "$deadline" ] || fail "accepted event $id is still PENDING after the restart"
    sleep 0.1
  done
done <"$accepted"
log "all $count accepted events are stored and COMPLETE after the restart"
log "passed: image $image, $megabytes MB"
