#!/usr/bin/env bash
# Property-based API fuzzing with schemathesis against the served /openapi.json (issue 12).
#   scripts/schemathesis.sh        what scripts/test runs: a few examples per operation
#   scripts/schemathesis.sh 100    more examples per operation (a longer run)
# Makes a venv under target/ with a pinned schemathesis (once), starts offers-api on a fresh
# SQLite database on a free loopback port, creates a project with the CLI, and runs every
# operation (examples, coverage, fuzzing and the stateful phase along the schema's links:
# create an offer, then read, change and delete it) with the project's x-api-key and owner
# token. Fails on any server error or any answer that the schema does not describe (status,
# content type, body).
set -euo pipefail
source "$(dirname "$0")/setup.sh"

SCHEMATHESIS_VERSION=4.32.5
EXAMPLES="${1:-8}"
VENV="$ROOT/target/schemathesis-venv"
if [ ! -x "$VENV/bin/st" ] || ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  say "schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

say "build offers-api"
(cd "$ROOT" && cargo build --quiet -p offers-api)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/offers-api"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
DB="sqlite://$WORK/offers.db"

PROJECT="$("$BIN" project create --name schemathesis --database-url "$DB")"
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1" <<<"$PROJECT"; }
API_KEY="$(field apiKey)"
TOKEN="$(field token)"
PUBLIC_KEY="$(field publicKey)"
# The widget calls name the project by its public key (query `key`): give them the real one,
# so the feed, the stream and the event batches are tested past "no such project".
cat >"$WORK/schemathesis.toml" <<TOML
[parameters]
"query.key" = "$PUBLIC_KEY"

[[operations]]
include-operation-id = "stream"
max-stream-events = 2
TOML

# Port 0: the server picks a free port and prints it once it listens. No rate limit: the
# fuzzer is one client sending far more than a partner would.
"$BIN" serve --addr 127.0.0.1:0 --database-url "$DB" --rate-limit 0 \
  --media-dir "$WORK/media" >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
# Block (no polling interval) until the "listening" line appears or the server exits.
LINE="$(timeout 60 tail -n +1 -f --pid="$SERVER_PID" "$WORK/server.out" | grep -m1 'listening on' || true)"
BASE="${LINE##* }"
if [ -z "$BASE" ] || ! curl -fsS "$BASE/healthz" >/dev/null; then
  echo "offers-api did not start:" >&2
  cat "$WORK/server.err" >&2
  exit 1
fi

say "schemathesis against $BASE/openapi.json ($EXAMPLES examples per operation)"
status=0
# From the temporary directory: schemathesis keeps a cache in ./.schemathesis.
cd "$WORK"
"$VENV/bin/st" --config-file "$WORK/schemathesis.toml" run "$BASE/openapi.json" \
  --header "x-api-key: $API_KEY" \
  --header "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "$EXAMPLES" \
  --seed "${SCHEMATHESIS_SEED:-1}" \
  --generation-database none \
  --workers 1 \
  --request-timeout 10 \
  --no-color \
  --report junit --report-dir "$ROOT/target/schemathesis-report" || status=$?
if [ "$status" -ne 0 ]; then
  echo "schemathesis found problems (above); the server's log is in target/schemathesis-report/server.err" >&2
  cp "$WORK/server.err" "$ROOT/target/schemathesis-report/server.err" 2>/dev/null || true
fi
exit "$status"
