#!/usr/bin/env bash
# Builds the widget bundle into dist/widget (without the Studio: --no-default-features):
#   offers.js                 the loader a host's <script> tag names (never cached for long)
#   offers-<hash>.js          wasm-bindgen's glue, content-hashed (cached forever)
#   offers-<hash>_bg.wasm     the widget, size-optimised with binaryen's wasm-opt -Oz
# each minified (scripts/bundle-widget.mjs) and with precompressed .br and .gz twins.
# Needs the tools scripts/setup.sh installs.
set -euo pipefail
source "$(dirname "$0")/setup.sh"

# With the image's pinned nightly: std rebuilt for size and panics that abort at once (no
# message formatting), -16..24% brotli (BENCHMARKS.md). OFFERS_WIDGET_STABLE=1 forces stable.
if [ -z "${OFFERS_WIDGET_STABLE:-}" ] && nightly_available; then
  say "building the widget (release, wasm32, $WIDGET_NIGHTLY with build-std)"
  # Linked by scripts/wasm-ld-widget.sh: rust-lld without the unused wasm-streams exports.
  sysroot="$(rustc "+$WIDGET_NIGHTLY" --print sysroot)"
  host="$(rustc "+$WIDGET_NIGHTLY" -vV | awk '/^host:/ { print $2 }')"
  export OFFERS_RUST_LLD="$sysroot/lib/rustlib/$host/bin/rust-lld"
  # No panic locations and no `Debug` formatting code in the bundle (BENCHMARKS.md).
  RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none -Clinker=$ROOT/scripts/wasm-ld-widget.sh" \
    cargo "+$WIDGET_NIGHTLY" build --release --lib --target wasm32-unknown-unknown -p offers-widget \
    --no-default-features \
    -Z build-std=std,panic_abort -Z build-std-features=optimize_for_size --target-dir target/widget-nightly
  wasm=target/widget-nightly/wasm32-unknown-unknown/release/offers_widget.wasm
else
  say "building the widget (release, wasm32, stable)"
  cargo build --release --lib --target wasm32-unknown-unknown -p offers-widget --no-default-features
  wasm=target/wasm32-unknown-unknown/release/offers_widget.wasm
fi
work=target/widget-bundle
rm -rf "$work"
wasm-bindgen --target web --no-typescript --out-dir "$work" --out-name offers "$wasm"
# --low-memory-unused: the wasm never reads or writes below address 1024 (rust-lld puts the
# 1 MiB stack first, growing down to 0, so only a stack within 1 KB of overflowing would), which
# lets wasm-opt fold added constants into load and store offsets: -0.6 KB brotli (BENCHMARKS.md).
wasm-opt -Oz --low-memory-unused "$work/offers_bg.wasm" -o "$work/offers_opt.wasm"
# Trims, minifies, hashes and precompresses into dist/widget (see the script's header).
node scripts/bundle-widget.mjs "$work" dist/widget
say "widget bundle: $(ls dist/widget | tr '\n' ' ')"
