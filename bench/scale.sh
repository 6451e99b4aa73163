#!/usr/bin/env bash
# The hot path at scale (issue 9), on loopback only: builds the API and the load client
# (`examples/scale_load.rs`) with the release-native profile, creates a project of the issue's
# shape through the partner API (90 % USER offers × 111 users, 9 % ROOM offers × 10 rooms,
# 1 % GLOBAL: 10,000 offers are 1.0M targets), then measures, printing one table:
#   - RSS with the project's index loaded; the first feed after a restart;
#   - the feed against bare axum serving the same bytes (examples/feed_baseline), wrk -t1 -c64,
#     alternating baseline / feed twice, for an anonymous visitor and a targeted user, with
#     the server's and the baseline's CPU time per request; p50/p99 at half the feed's maximum rate, sharing
#     both cores with the client, then with the server on core 0 and the client on core 1;
#   - 1,000 signed-in streams in one room: delivery of new offers p50/p99, POST p99 without
#     and with the streams;
#   - 10,000 streams over 1,000 rooms: RSS, and how many streams each change reached;
#   - event ingest, batches of 50 from 64 connections: events/s, stored = acknowledged.
# Needs Debian's wrk; PostgreSQL at 127.0.0.1:5432 (trust) for `postgres`.
# Usage: bash bench/scale.sh [sqlite|postgres] [offers, default 10000] [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
backend="${1:-sqlite}"
offers="${2:-10000}"
secs="${3:-10}"
source bench/lib.sh
bench_setup "$backend" 18191 scale_bench
server=""

start_server() {
  # Fan-out counts are logged at DEBUG by offers_api::live; request logs stay off.
  RUST_LOG="${BENCH_RUST_LOG:-warn,offers_api::live=debug}" "$bin/offers-api" serve --addr "127.0.0.1:$port" \
    --database-url "$db" --rate-limit 0 --widget-dir "$dir" --studio-dir "$dir" >>"$dir/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 200); do curl -sf "$base/healthz" >/dev/null && return; sleep 0.05; done
  echo "server did not start" >&2; cat "$dir/serve.log" >&2; exit 1
}
stop_server() { kill "$server"; wait "$server" 2>/dev/null || true; }
rss() { awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$server/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/${1:-$server}/stat"; } # [pid]: user + system ticks

start_server
project="$("$bin/offers-api" project create --name scale --database-url "$db")"
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$project" "$1"; }
key="$(field apiKey)"; token="$(field token)"; public="$(field publicKey)"
# New projects require signed user ids: the load client and the targeted feed sign theirs.
export SCALE_IDENTITY_SECRET="$(field identitySecret)"
sign() { python3 -c "import hmac,hashlib,sys; print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())" "$SCALE_IDENTITY_SECRET" "$1"; }
echo "== $backend, $offers offers" | tee "$results"
"$load" seed "$base" "$key" "$token" "$offers" | tee -a "$results"
if [ -n "$pgname" ]; then
  # Seeding wrote 1M rows: do the autovacuum's work now, so that it does not run (and take a
  # core) during the measurements below.
  psql -h 127.0.0.1 -U postgres -qc "VACUUM (ANALYZE)" -c "CHECKPOINT" "$pgname"
fi

anon="/widget/v1/offers?key=$public&room=room1"
targeted="/widget/v1/offers?key=$public&room=room1&user=u1&sig=$(sign u1)"
curl -sf -o /dev/null "$base$anon"
row "RSS, index of $offers offers loaded" "$(rss)"
stop_server
start_server
first="$(curl -sf -o /dev/null -w '%{time_total}' "$base$targeted")"
row "first feed after a restart" "$(python3 -c "print(f'{float(\"$first\") * 1000:.0f} ms')")"

wrk_rps() { # port path [header]
  wrk -t1 -c64 -d"${secs}s" "http://127.0.0.1:$1$2" | awk '/Requests\/sec/ {print $2}'
}
for who in anon targeted; do
  path="${!who}"
  curl -sf -D "$dir/headers" -o "$dir/body" "$base$path"
  etag="$(grep -i '^etag:' "$dir/headers" | cut -d' ' -f2- | tr -d '\r')"
  count="$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['offers']))" "$dir/body")"
  "$bin/examples/feed_baseline" 127.0.0.1:18192 "$dir/body" "$etag" &
  baseline=$!
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:18192$path" && break; sleep 0.05; done
  s0="$(cpu_ticks "$baseline")"; b1="$(wrk_rps 18192 "$path")"; s1="$(cpu_ticks "$baseline")"
  t0="$(cpu_ticks)"; f1="$(wrk_rps "$port" "$path")"; t1="$(cpu_ticks)"
  s2="$(cpu_ticks "$baseline")"; b2="$(wrk_rps 18192 "$path")"; s3="$(cpu_ticks "$baseline")"
  t2="$(cpu_ticks)"; f2="$(wrk_rps "$port" "$path")"; t3="$(cpu_ticks)"
  if [ "$who" = targeted ]; then
    # The tail's floor on this machine: the baseline at the feed's half rate (below).
    base_half="$("$load" rate "http://127.0.0.1:18192$path" "$(python3 -c "print(int(($f1 + $f2) / 4))")" "$secs")"
  fi
  kill "$baseline"; wait "$baseline" 2>/dev/null || true
  summary="$(python3 - "$b1" "$f1" "$b2" "$f2" "$((t1 - t0 + t3 - t2))" "$secs" "$((s1 - s0 + s3 - s2))" <<'EOF'
import sys
b1, f1, b2, f2 = map(float, sys.argv[1:5])
ticks, secs, base_ticks = int(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
cpu_us = ticks * 10_000 / ((f1 + f2) * secs)  # 100 ticks per second
base_us = base_ticks * 10_000 / ((b1 + b2) * secs)
print(f"{(f1 + f2) / 2:,.0f} req/s vs baseline {(b1 + b2) / 2:,.0f} = {(f1 + f2) / (b1 + b2) * 100:.0f} % "
      f"(runs {f1 / b1 * 100:.0f} %, {f2 / b2 * 100:.0f} %); server CPU {cpu_us:.0f} µs per request "
      f"(baseline {base_us:.0f} µs: {cpu_us - base_us:.0f} µs beyond sending the bytes)")
EOF
)"
  row "feed, $who ($count offers, $(wc -c <"$dir/body") bytes)" "$summary"
  if [ "$who" = targeted ]; then
    # What a browser asks for: the same feed, compressed per request (brotli level 4).
    t0="$(cpu_ticks)"
    br="$(wrk -t1 -c64 -d"${secs}s" -H 'Accept-Encoding: br' "$base$path" | awk '/Requests\/sec/ {print $2}')"
    t1="$(cpu_ticks)"
    brsize="$(curl -sf -H 'Accept-Encoding: br' "$base$path" | wc -c)"
    row "feed, targeted, Accept-Encoding: br ($brsize bytes)" "$(python3 -c "print(f'{$br:,.0f} req/s; server CPU {($t1 - $t0) * 10_000 / ($br * $secs):.0f} µs per request')")"
    half="$(python3 -c "print(int(($f1 + $f2) / 4))")"
    row "feed, targeted, at half the maximum rate" "$("$load" rate "$base$path" "$half" "$secs")"
    row "  baseline (same bytes) at that rate" "$base_half"
    brhalf="$(python3 -c "print(int($br / 2))")"
    row "feed, targeted, br, at half its maximum rate" "$("$load" rate "$base$path" "$brhalf" "$secs" 'Accept-Encoding: br')"
    # The same two with the server's threads on core 0 and the load client on core 1: on this
    # 2-core machine, the nearest to a client on a machine of its own (above, the client's
    # work and the server's share both cores, and the scheduler's time slices show in the tail).
    taskset -a -p -c 0 "$server" >/dev/null
    row "  same, server on core 0, client on core 1" "$(taskset -c 1 "$load" rate "$base$path" "$half" "$secs")"
    row "  br, server on core 0, client on core 1" "$(taskset -c 1 "$load" rate "$base$path" "$brhalf" "$secs" 'Accept-Encoding: br')"
    taskset -a -p -c 0-1 "$server" >/dev/null
  fi
done

row "1,000 signed-in streams in one room" "$("$load" room "$base" "$public" "$key" "$token" 1000 20 | tr '\n' ' ')"
before="$(grep -c 'fan-out' "$dir/serve.log" || true)"
row "10,000 streams over 1,000 rooms" "$("$load" spread "$base" "$public" "$key" "$token" 10000 1000 "$server" | tr '\n' ' ')"
row "  server side: streams reached per change (last three)" "$(tail -n +"$((before + 1))" "$dir/serve.log" | grep 'change="offer"' | grep -o 'reached=[0-9]*' | tail -3 | tr '\n' ' ')"
sleep 1 # let the 10,000 streams' connections close
row "event ingest" "$("$load" events "$base" "$public" "$key" "$token" 64 50 "$secs" 10)"
echo
cat "$results"
