#!/usr/bin/env bash
# Which wasm functions the widget's first paint runs: builds a bundle of the widget wasm that
# scripts/build-widget.sh last built, through the same steps but with its function names kept
# (wasm-bindgen --keep-debug, wasm-opt -g, OFFERS_WASM_NAMES=1 scripts/bundle-widget.mjs), into
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
work="$ROOT/target/widget-named/bundle"
rm -rf "$work"
wasm-bindgen --target web --no-typescript --keep-debug --out-dir "$work" --out-name offers "$wasm"
wasm-opt -Oz --low-memory-unused -g "$work/offers_bg.wasm" -o "$work/offers_opt.wasm"
OFFERS_WASM_NAMES=1 node "$ROOT/scripts/bundle-widget.mjs" "$work" "$ROOT/target/widget-named/dist"
node "$ROOT/bench/paint-trace.mjs" "$ROOT/target/widget-named/trace.json" "$ROOT/target/widget-named/dist" |
  sed -n '/^functions compiled/,$p'
