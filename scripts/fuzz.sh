#!/usr/bin/env bash
# Runs every cargo-fuzz target of offers-core (crates/offers-core/fuzz) for a bounded time.
#   scripts/fuzz.sh            smoke run: 10 s per target (what scripts/test runs)
#   scripts/fuzz.sh 600        a longer run: 10 minutes per target
#   scripts/fuzz.sh 600 text   one target
# New inputs go to target/fuzz-corpus/<target> (the checked-in seeds in
# crates/offers-core/fuzz/corpus/<target> are only read); a crash is written to
# crates/offers-core/fuzz/artifacts/<target>/ and fails the run. Needs the pinned nightly
# (TOOLCHAIN.md) and cargo-fuzz (scripts/setup.sh: ensure_cargo_fuzz).
set -euo pipefail
source "$(dirname "$0")/setup.sh"
ensure_cargo_fuzz
nightly_available || { echo "the $WIDGET_NIGHTLY toolchain is missing (TOOLCHAIN.md)" >&2; exit 1; }

SECONDS_PER_TARGET="${1:-10}"
FUZZ_DIR="$ROOT/crates/offers-core/fuzz"
TARGETS=(color gradient url text csv_audience offer_draft)
if [ $# -ge 2 ]; then TARGETS=("${@:2}"); fi
# Its own target dir: the fuzz build (nightly, sanitizer flags) shares nothing with the rest.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$ROOT/target/fuzz}"

cd "$FUZZ_DIR"
say "cargo fuzz build (nightly)"
cargo "+$WIDGET_NIGHTLY" fuzz build
for target in "${TARGETS[@]}"; do
  say "fuzz $target for ${SECONDS_PER_TARGET} s"
  work="$ROOT/target/fuzz-corpus/$target"
  mkdir -p "$work"
  log="$ROOT/target/fuzz-corpus/$target.log"
  if ! cargo "+$WIDGET_NIGHTLY" fuzz run "$target" "$work" "corpus/$target" -- \
      -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
      >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "fuzz target $target failed; the input is in $FUZZ_DIR/artifacts/$target/ (log: $log)" >&2
    exit 1
  fi
  grep -E '^stat::(number_of_executed_units|new_units_added)' "$log" | tr '\n' ' ' || true
  echo
done
