#!/usr/bin/env bash
# Builds the widget bundle into dist/widget:
#   offers.js                 the loader a host's <script> tag names (never cached for long)
#   offers-<hash>.js          wasm-bindgen's glue, content-hashed (cached forever)
#   offers-<hash>_bg.wasm     the widget, size-optimised with binaryen's wasm-opt -Oz
# Needs the tools scripts/setup.sh installs.
set -euo pipefail
source "$(dirname "$0")/setup.sh"

# With the image's pinned nightly: std rebuilt for size and panics that abort at once (no
# message formatting), -16..24% brotli (BENCHMARKS.md). OFFERS_WIDGET_STABLE=1 forces stable.
if [ -z "${OFFERS_WIDGET_STABLE:-}" ] && nightly_available; then
  say "building the widget (release, wasm32, $WIDGET_NIGHTLY with build-std)"
  RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort" \
    cargo "+$WIDGET_NIGHTLY" build --release --lib --target wasm32-unknown-unknown -p offers-widget \
    -Z build-std=std,panic_abort -Z build-std-features=optimize_for_size --target-dir target/widget-nightly
  wasm=target/widget-nightly/wasm32-unknown-unknown/release/offers_widget.wasm
else
  say "building the widget (release, wasm32, stable)"
  cargo build --release --lib --target wasm32-unknown-unknown -p offers-widget
  wasm=target/wasm32-unknown-unknown/release/offers_widget.wasm
fi
work=target/widget-bundle
rm -rf "$work"
wasm-bindgen --target web --no-typescript --out-dir "$work" --out-name offers "$wasm"
wasm-opt -Oz "$work/offers_bg.wasm" -o "$work/offers_opt.wasm"
hash="$(cat "$work/offers.js" "$work/offers_opt.wasm" | sha256sum | cut -c1-16)"

dist=dist/widget
rm -rf "$dist"
mkdir -p "$dist"
cp "$work/offers.js" "$dist/offers-$hash.js"
cp "$work/offers_opt.wasm" "$dist/offers-${hash}_bg.wasm"
sed -e "s/__BUNDLE_JS__/offers-$hash.js/" -e "s/__BUNDLE_WASM__/offers-${hash}_bg.wasm/" \
  src/loader.js >"$dist/offers.js"
say "widget bundle: $(ls "$dist" | tr '\n' ' ')"
