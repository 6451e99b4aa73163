#!/usr/bin/env bash
# Memory per connection (issue 9), on loopback: starts the API (release-native) on a fresh SQLite
# file with one empty project, then opens 10,000 idle keep-alive connections (each after one
# GET /healthz) and 10,000 SSE streams, and prints the server's RSS growth per connection.
# With JEPROF=1 the server runs under Debian's libjemalloc2 with heap profiling: the dumps land
# in $JEPROF_DIR (default target/jeprof) for `jeprof --text target/release-native/offers-api FILE`.
# Usage: bash bench/stream-memory.sh [connections, default 10000]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000}"
cargo build --quiet --profile release-native -p offers-api --bin offers-api
bin="${CARGO_TARGET_DIR:-target}/release-native"
dir="$(mktemp -d)"; port=18304; base="http://127.0.0.1:$port"; db="sqlite://$dir/offers.db"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
env=()
if [ -n "${JEPROF:-}" ]; then
  prof="${JEPROF_DIR:-target/jeprof}"; mkdir -p "$prof"
  env=(LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 "MALLOC_CONF=prof:true,lg_prof_sample:10,lg_prof_interval:25,prof_prefix:$prof/jeprof")
fi
env "${env[@]}" "$bin/offers-api" serve --addr "127.0.0.1:$port" --database-url "$db" --rate-limit 0 \
  --widget-dir "$dir" --studio-dir "$dir" >"$dir/serve.log" 2>&1 &
pid=$!
for _ in $(seq 200); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.05; done
project="$("$bin/offers-api" project create --name memory --database-url "$db")"
public="$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['publicKey'])" "$project")"
curl -sf -o /dev/null "$base/widget/v1/offers?key=$public&room=r"
python3 bench/idle-conns.py "$port" "$pid" "$n" /healthz
python3 bench/idle-conns.py "$port" "$pid" "$n" "/widget/v1/stream?key=$public&room=r"
