#!/usr/bin/env bash
# Builds bench/leptos-floor (the smallest Leptos 0.8 widget that paints one offer card from a JS
# object into a shadow root: one signal, two click handlers) exactly as scripts/build-widget.sh
# builds the widget (pinned nightly, build-std, immediate-abort, the same linker wrapper,
# wasm-bindgen, wasm-opt -Oz and scripts/bundle-widget.mjs), then prints its critical path with
# bench/size-guard.mjs. What the widget ships beyond this figure is its own code. It answers the
# widget's loader, so `node bench/paint.mjs 21 floor=target/leptos-floor/dist widget=dist/widget`
# times it beside the widget and the vanilla pop-up: what Leptos itself costs in time.
# Usage: bash bench/leptos-floor.sh   (needs the tools scripts/setup.sh installs)
set -euo pipefail
source "$(dirname "$0")/../scripts/setup.sh"
nightly_available || { echo "leptos-floor: needs $WIDGET_NIGHTLY" >&2; exit 1; }
crate="$ROOT/bench/leptos-floor"
sysroot="$(rustc "+$WIDGET_NIGHTLY" --print sysroot)"
host="$(rustc "+$WIDGET_NIGHTLY" -vV | awk '/^host:/ { print $2 }')"
export OFFERS_RUST_LLD="$sysroot/lib/rustlib/$host/bin/rust-lld"
RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none -Clinker=$ROOT/scripts/wasm-ld-widget.sh" \
  cargo "+$WIDGET_NIGHTLY" build --release --lib --target wasm32-unknown-unknown \
  --manifest-path "$crate/Cargo.toml" --target-dir "$ROOT/target/leptos-floor" \
  -Z build-std=std,panic_abort -Z build-std-features=optimize_for_size
work="$ROOT/target/leptos-floor/bundle"
rm -rf "$work"
wasm-bindgen --target web --no-typescript --out-dir "$work" --out-name offers \
  "$ROOT/target/leptos-floor/wasm32-unknown-unknown/release/leptos_floor.wasm"
wasm-opt -Oz --low-memory-unused "$work/offers_bg.wasm" -o "$work/offers_opt.wasm"
node "$ROOT/scripts/bundle-widget.mjs" "$work" "$ROOT/target/leptos-floor/dist"
node "$ROOT/bench/size-guard.mjs" "$ROOT/target/leptos-floor/dist" --unsplit
