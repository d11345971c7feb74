#!/usr/bin/env bash
# Runs the README's curl walkthrough as written against a running server and checks what it
# prints: a token, an event id, the event COMPLETE, and its audit events.
#   scripts/walkthrough.sh [BASE_URL [CREDENTIALS]]
# BASE_URL defaults to http://127.0.0.1:8080 and CREDENTIALS to the demo user and client. Only
# the README's BASE= and CREDENTIALS= lines are replaced; every other line runs unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
export WALKTHROUGH_BASE=${1:-http://127.0.0.1:8080}
export WALKTHROUGH_CREDENTIALS=${2:-username=demo&password=demo&client_id=demo&client_secret=demo}

script=$(awk '/<!-- walkthrough:start -->/ { inside = 1; next }
              /<!-- walkthrough:end -->/ { inside = 0 }
              inside && !/^```/' README.md)
if [ -z "$script" ]; then
  echo "walkthrough: README.md has no block between the walkthrough markers" >&2
  exit 1
fi
script=$(printf '%s\n' "$script" | sed -e 's|^BASE=.*|BASE="$WALKTHROUGH_BASE"|' \
                                       -e 's|^CREDENTIALS=.*|CREDENTIALS="$WALKTHROUGH_CREDENTIALS"|')

output=$(bash -euo pipefail -c "$script")
printf '%s\n' "$output"

fail() {
  echo "walkthrough: $1" >&2
  exit 1
}
grep -Eq '^token: .{20,}$' <<<"$output" || fail "no access token: check the credentials and POST /oauth/token"
grep -Eq '^event: [0-9a-f-]{36}$' <<<"$output" || fail "no event id: POST /api/v4.1/event/async failed"
grep -q '"name":"CREATE","type":"ORCHESTRATION"' <<<"$output" || fail "GET /api/v4.1/event/{id} did not return the CREATE event"
grep -q '"eventStatus":"COMPLETE"' <<<"$output" || fail "the CREATE event did not end COMPLETE"
grep -q '"type":"ORCHESTRATION_AUDIT"' <<<"$output" || fail "GET /api/v4.1/event listed no audit event"
echo "walkthrough: passed against $WALKTHROUGH_BASE"
