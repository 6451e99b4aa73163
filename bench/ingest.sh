#!/usr/bin/env bash
# Event ingest side by side (issue 9): batches of 50 events from 64 connections, as in
# bench/scale.sh's last row, for one or more builds of the API, alternating, each run on a fresh
# database with the same 1,000-offer project (10 GLOBAL offers, whose impressions are sent).
# Prints events/s per run (stored = acknowledged is checked by the load client, which fails
# otherwise) and each build's median.
# Usage: bash bench/ingest.sh [sqlite|postgres] [seconds per run, default 10] [runs, default 3]
#   INGEST_BINS="dir-a dir-b": directories holding an `offers-api` binary to compare (default:
#   the release-native build this script makes). Copy a build aside to compare it with a later one.
# PostgreSQL at 127.0.0.1:5432 (trust) for `postgres`.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
backend="${1:-sqlite}" secs="${2:-10}" runs="${3:-3}"
bench_setup "$backend" 18193 ingest_bench
read -r -a builds <<<"${INGEST_BINS:-$bin}"
server=""
rundb=""

fresh_db() { # run build
  if [ "$backend" = postgres ]; then
    rundb="ingest_bench_$$_$1_$2"
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $rundb" postgres
    echo "postgres://postgres@127.0.0.1:5432/$rundb"
  else
    echo "sqlite://$dir/run-$1-$2.db"
  fi
}
drop_db() {
  if [ "$backend" = postgres ] && [ -n "$rundb" ]; then
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $rundb" postgres
  fi
  rm -f "$dir"/run-*.db*
}

echo "== $backend: event ingest, batches of 50, 64 connections, ${secs} s per run" | tee "$results"
declare -A rates
for run in $(seq "$runs"); do
  for b in "${!builds[@]}"; do
    api="${builds[$b]}/offers-api"
    url="$(fresh_db "$run" "$b")"
    "$api" serve --addr "127.0.0.1:$port" --database-url "$url" --rate-limit 0 \
      --widget-dir "$dir" --studio-dir "$dir" >>"$dir/serve.log" 2>&1 &
    server=$!
    for _ in $(seq 200); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.05; done
    project="$("$api" project create --name ingest --database-url "$url")"
    field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$project" "$1"; }
    export SCALE_IDENTITY_SECRET="$(field identitySecret)"
    "$load" seed "$base" "$(field apiKey)" "$(field token)" 1000 >/dev/null
    got="$("$load" events "$base" "$(field publicKey)" "$(field apiKey)" "$(field token)" 64 50 "$secs" 10)"
    kill "$server"; wait "$server" 2>/dev/null || true
    drop_db
    rate="$(grep -o '[0-9,]* events/s' <<<"$got" | head -1 | tr -d ', events/s')"
    rates[$b]="${rates[$b]:-} $rate"
    row "run $run, ${builds[$b]}" "$got"
  done
done
for b in "${!builds[@]}"; do
  row "median, ${builds[$b]}" "$(python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):,.0f} events/s')" ${rates[$b]})"
done
