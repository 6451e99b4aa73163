#!/usr/bin/env bash
# Audiences at scale (issue 11), on loopback only: builds the API and the load client
# (`examples/scale_load.rs`) with the release-native profile, then
#   - upserts 1,000,000 profiles with `POST /external/users` in JSON batches of 100,000 (each
#     batch's time is the "bulk upsert of 100,000 profiles" figure);
#   - creates 200 rule segments, and 10,000 offers of issue 9's shape (USER / ROOM / GLOBAL)
#     of which every third uses a segment and a merge tag;
#   - measures, side by side with bare axum serving the same bytes (examples/feed_baseline),
#     wrk -t1 -c64, alternating baseline / feed twice: the feed of one user (their page is
#     kept), and the feed of 1,000 different users in turn (wrk Lua script; pages built per
#     user as the cache allows), with the server's CPU per request;
#   - the server's RSS with all of that loaded, and the time of a rule segment's count over the
#     1,000,000 profiles.
# Needs Debian's wrk; PostgreSQL at 127.0.0.1:5432 (trust) for `postgres`.
# Usage: bash bench/audiences.sh [sqlite|postgres] [profiles, default 1000000] [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
backend="${1:-sqlite}"
profiles="${2:-1000000}"
secs="${3:-10}"
offers=10000
source bench/lib.sh
bench_setup "$backend" 18193 audiences_bench

RUST_LOG=warn "$bin/offers-api" serve --addr "127.0.0.1:$port" --database-url "$db" --rate-limit 0 \
  --widget-dir "$dir" --studio-dir "$dir" >>"$dir/serve.log" 2>&1 &
server=$!
for _ in $(seq 200); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.05; done
rss() { awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$server/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }

project="$("$bin/offers-api" project create --name audiences --database-url "$db")"
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$project" "$1"; }
key="$(field apiKey)"; token="$(field token)"; public="$(field publicKey)"; id="$(field id)"
# The round-robin feed asks as 1,000 users: unsigned ids count (a signature per user would
# only add the client's work to the measurement).
"$bin/offers-api" project set --project "$id" --require-user-signature false --database-url "$db" >/dev/null

echo "== $backend: $profiles profiles, 200 rule segments, $offers offers (a third with segments)" | tee "$results"
row "bulk upsert, JSON batches of 100,000" "$("$load" profiles "$base" "$key" "$token" "$profiles" 100000)"
segments="$("$load" segments "$base" "$key" "$token" 200)"
SCALE_SEGMENTS="$segments" "$load" seed "$base" "$key" "$token" "$offers" | tee -a "$results"
first="${segments%%:*}"
started="$(date +%s.%N)"
count="$(curl -sf -H "x-api-key: $key" -H "authorization: Bearer $token" "$base/external/segment/$first/count")"
row "count of segment $first over all profiles" "$count in $(python3 -c "import time; print(f'{time.time() - $started:.1f} s')")"

wrk_rps() { # port path [lua]
  if [ -n "${3:-}" ]; then
    wrk -t1 -c64 -d"${secs}s" -s "$3" "http://127.0.0.1:$1$2" | awk '/Requests\/sec/ {print $2}'
  else
    wrk -t1 -c64 -d"${secs}s" "http://127.0.0.1:$1$2" | awk '/Requests\/sec/ {print $2}'
  fi
}
# 1,000 users in turn: u0 … u999 (every one has a profile; many have personal offers).
cat >"$dir/users.lua" <<EOF
local n = 0
request = function()
  n = (n + 1) % 1000
  return wrk.format("GET", "/widget/v1/offers?key=$public&room=room1&user=u" .. n)
end
EOF
one="/widget/v1/offers?key=$public&room=room1&user=u1"
curl -sf -D "$dir/headers" -o "$dir/body" "$base$one"
etag="$(grep -i '^etag:' "$dir/headers" | cut -d' ' -f2- | tr -d '\r')"
shown="$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['offers']))" "$dir/body")"
"$bin/examples/feed_baseline" 127.0.0.1:18194 "$dir/body" "$etag" &
baseline=$!
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:18194$one" && break; sleep 0.05; done
for who in one round-robin; do
  lua=""; [ "$who" = round-robin ] && lua="$dir/users.lua"
  b1="$(wrk_rps 18194 "$one")"
  t0="$(cpu_ticks)"; f1="$(wrk_rps "$port" "$one" "$lua")"; t1="$(cpu_ticks)"
  b2="$(wrk_rps 18194 "$one")"
  t2="$(cpu_ticks)"; f2="$(wrk_rps "$port" "$one" "$lua")"; t3="$(cpu_ticks)"
  summary="$(python3 - "$b1" "$f1" "$b2" "$f2" "$((t1 - t0 + t3 - t2))" "$secs" <<'EOF'
import sys
b1, f1, b2, f2 = map(float, sys.argv[1:5])
ticks, secs = int(sys.argv[5]), float(sys.argv[6])
cpu_us = ticks * 10_000 / ((f1 + f2) * secs)  # 100 ticks per second
print(f"{(f1 + f2) / 2:,.0f} req/s vs baseline {(b1 + b2) / 2:,.0f} = {(f1 + f2) / (b1 + b2) * 100:.0f} % "
      f"(runs {f1 / b1 * 100:.0f} %, {f2 / b2 * 100:.0f} %); server CPU {cpu_us:.0f} µs per request")
EOF
)"
  case "$who" in
    one) row "feed of one user ($shown offers, $(wc -c <"$dir/body") bytes)" "$summary" ;;
    *) row "feed of 1,000 users in turn" "$summary" ;;
  esac
done
kill "$baseline"; wait "$baseline" 2>/dev/null || true
row "RSS: $profiles profiles, 200 segments, $offers offers indexed, 1,000 users' contexts cached" "$(rss)"
echo
cat "$results"
