#!/usr/bin/env bash
# Which wasm functions the widget's first paint runs: builds a bundle of the widget wasm that
# scripts/build-widget.sh last built, through the same steps but with its function names kept
# (scripts/wasm-widget-steps.sh with OFFERS_WASM_NAMES=1: wasm-bindgen --keep-debug,
# wasm-opt -g, the name section kept), into
# target/widget-named/dist, then traces one load of it (bench/paint-trace.mjs). V8 compiles each
# wasm function on its first call, so the trace's `wasm.CompileLazy` events name every function
# that ran: their number and bytes are the paint path's code, as the size guard's figure is
# its download. Never ship this bundle (the names are ~280 KB).
# Usage: bash bench/paint-functions.sh   (after scripts/build-widget.sh; OFFERS_API_BIN as for
# bench/paint-trace.mjs)
set -euo pipefail
source "$(dirname "$0")/../scripts/setup.sh"
wasm="$ROOT/target/widget-nightly/wasm32-unknown-unknown/release/offers_widget.wasm"
[ -f "$wasm" ] || { echo "paint-functions: build the widget first (bash scripts/build-widget.sh)" >&2; exit 1; }
# The same steps as the shipped bundle (built with `--features split`), names kept.
OFFERS_WASM_NAMES=1 bash "$ROOT/scripts/wasm-widget-steps.sh" "$wasm" 1 \
  "$ROOT/target/widget-named/bundle" "$ROOT/target/widget-named/dist"
node "$ROOT/bench/paint-trace.mjs" "$ROOT/target/widget-named/trace.json" "$ROOT/target/widget-named/dist" |
  sed -n '/^functions compiled/,$p'
