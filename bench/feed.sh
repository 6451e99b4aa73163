#!/usr/bin/env bash
# The widget feed (the API's hot path) against bare axum serving the same bytes, measured side
# by side with wrk on loopback. Both release builds (profile release-native). Needs `wrk`
# (Debian package). Usage: bash bench/feed.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
command -v wrk >/dev/null || { echo "==> installing Debian's wrk"; apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
cargo build --quiet --profile release-native -p offers-api --bin offers-api --example feed_baseline
bin=target/release-native
dir="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT

RUST_LOG="${BENCH_RUST_LOG:-info}" "$bin/offers-api" serve --addr 127.0.0.1:18181 --database-url "sqlite://$dir/offers.db" --rate-limit 0 \
  --widget-dir "$dir" --studio-dir "$dir" >"$dir/serve.log" 2>&1 &
for _ in $(seq 100); do curl -sf http://127.0.0.1:18181/healthz >/dev/null && break; sleep 0.1; done
project="$("$bin/offers-api" project create --name bench --database-url "sqlite://$dir/offers.db")"
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$project" "$1"; }
key="$(field apiKey)"; token="$(field token)"; public="$(field publicKey)"
# 30 offers: a third for everyone, a third for room r1 (and r2), a third for user u1 (and u2).
for i in $(seq 30); do
  case $((i % 3)) in
    0) audience='"type":"GLOBAL"' ;;
    1) audience='"type":"ROOM","externalRoomIds":["r1","r2"]' ;;
    2) audience='"type":"USER","externalUserIds":["u1","u2"]' ;;
  esac
  curl -sf -o /dev/null -X POST http://127.0.0.1:18181/external/offer \
    -H "x-api-key: $key" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"template\":10,\"title\":\"Offer $i\",\"text\":\"Bench offer $i\",\"linkText\":\"Open\",\"link\":\"https://shop.example/$i\",\"startTime\":\"2024-01-01T00:00:00Z\",$audience}"
done
path="/widget/v1/offers?key=$public&room=r1&user=u1"
curl -sf -D "$dir/headers" -o "$dir/body" "http://127.0.0.1:18181$path"
etag="$(grep -i '^etag:' "$dir/headers" | cut -d' ' -f2- | tr -d '\r')"
"$bin/examples/feed_baseline" 127.0.0.1:18182 "$dir/body" "$etag" &
sleep 0.5
echo "feed body: $(wc -c <"$dir/body") bytes, $(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['offers']))" "$dir/body") offers for room r1 / user u1"

run() { # name port [header]
  local rps
  rps="$(wrk -t2 -c32 -d"${secs}s" ${3:+-H "$3"} "http://127.0.0.1:$2$path" | awk '/Requests\/sec/ {print $2}')"
  printf '%-28s %10s req/s\n' "$1" "$rps"
}
run "baseline 200" 18182
run "feed 200" 18181
run "baseline 304" 18182 "If-None-Match: $etag"
run "feed 304" 18181 "If-None-Match: $etag"
