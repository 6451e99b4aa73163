# Shared set-up of the API benchmarks (sourced by bench/scale.sh and bench/audiences.sh):
# `bench_setup BACKEND PORT NAME` installs Debian's wrk if missing, builds the API and the load
# client with the release-native profile (BENCH_SKIP_BUILD=1: use those already in the target
# directory), makes a temporary directory and a database (a SQLite
# file there, or a fresh PostgreSQL database NAME_<pid>), removes both on exit, and sets
#   bin load dir port base db results, and row "label" "value" (a Markdown row, also kept in
#   $results).
bench_setup() {
  local backend="$1"
  port="$2"
  command -v wrk >/dev/null || { echo "==> installing Debian's wrk"; apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }
  [ -n "${BENCH_SKIP_BUILD:-}" ] || cargo build --quiet --profile release-native -p offers-api --bin offers-api --example feed_baseline --example scale_load
  bin="${CARGO_TARGET_DIR:-target}/release-native"
  load="$bin/examples/scale_load"
  dir="$(mktemp -d)"
  base="http://127.0.0.1:$port"
  pgname=""
  case "$backend" in
    sqlite) db="sqlite://$dir/offers.db" ;;
    postgres)
      pgname="$3_$$"
      psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $pgname" postgres
      db="postgres://postgres@127.0.0.1:5432/$pgname" ;;
    *) echo "backend must be sqlite or postgres" >&2; exit 2 ;;
  esac
  trap bench_cleanup EXIT
  results="$dir/results"
}

bench_cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  if [ -n "$pgname" ]; then psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $pgname" postgres || true; fi
  rm -rf "$dir"
}

row() { printf '| %s | %s |\n' "$1" "$2" | tee -a "$results"; }
