#!/usr/bin/env bash
# The widget wasm's steps after cargo, shared by scripts/build-widget.sh (the shipped bundle) and
# bench/paint-functions.sh (the same bundle with its function names kept, never shipped):
#   bash scripts/wasm-widget-steps.sh WASM SPLIT WORK_DIR DIST_DIR
# WASM is cargo's offers_widget.wasm; SPLIT is 1 when it was built with `--features split` (and
# `--emit-relocs`), empty otherwise. With OFFERS_WASM_NAMES=1 the names stay (`--keep-debug`,
# `wasm-opt -g`; scripts/bundle-widget.mjs keeps the name section).
# Needs the tools scripts/setup.sh installs (on PATH).
set -euo pipefail
wasm="$1" split="$2" work="$3" dist="$4"
names=()
keep_debug=()
if [ "${OFFERS_WASM_NAMES:-}" = 1 ]; then names=(-g); keep_debug=(--keep-debug); fi
rm -rf "$work"
mkdir -p "$work"
if [ -n "$split" ]; then
  # The split point's module (src/after_paint.rs) goes to split_after_paint.wasm with the link
  # module __wasm_split.js (which fetches it); the rest is the main module wasm-bindgen binds.
  # --keep-lld-exports: the main module keeps the exports the split module imports.
  wasm-split-cli --target web --out-name offers "$wasm" "$work/split"
  wasm-bindgen --target web --no-typescript --keep-lld-exports "${keep_debug[@]}" \
    --out-dir "$work" --out-name offers "$work/split/offers.wasm"
  cp "$work/split/__wasm_split.js" "$work/__wasm_split.js"
  wasm-opt -Oz --low-memory-unused "${names[@]}" "$work/split/split_after_paint.wasm" \
    -o "$work/after_paint_opt.wasm"
else
  wasm-bindgen --target web --no-typescript "${keep_debug[@]}" --out-dir "$work" --out-name offers "$wasm"
fi
# --low-memory-unused: the wasm never reads or writes below address 1024 (rust-lld puts the
# 1 MiB stack first, growing down to 0, so only a stack within 1 KB of overflowing would), which
# lets wasm-opt fold added constants into load and store offsets: -0.6 KB brotli (BENCHMARKS.md).
wasm-opt -Oz --low-memory-unused "${names[@]}" "$work/offers_bg.wasm" -o "$work/offers_opt.wasm"
# Trims, minifies, hashes and precompresses into DIST_DIR (see the script's header).
node "$(dirname "$0")/bundle-widget.mjs" "$work" "$dist"
