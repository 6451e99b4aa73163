#!/usr/bin/env bash
# Builds the widget bundle into dist/widget (without the Studio: --no-default-features):
#   offers.js                      the loader a host's <script> tag names (never cached for long)
#   offers-<hash>.js               wasm-bindgen's glue, content-hashed (cached forever)
#   offers-<hash>_bg.wasm          the widget, size-optimised with binaryen's wasm-opt -Oz
#   offers-after-paint-<hash>.wasm the code only `src/after_paint.rs` reaches, split off by
#                                  wasm-split-cli and fetched after the first paint
#   offers-extras-<hash>.js        the stream, events outbox and window.Offers (src/extras.js)
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
  # `--features split` with `--emit-relocs`: what wasm-split-cli needs to cut the module.
  RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none -Clinker=$ROOT/scripts/wasm-ld-widget.sh -Clink-arg=--emit-relocs" \
    cargo "+$WIDGET_NIGHTLY" build --release --lib --target wasm32-unknown-unknown -p offers-widget \
    --no-default-features --features split \
    -Z build-std=std,panic_abort -Z build-std-features=optimize_for_size --target-dir target/widget-nightly
  wasm=target/widget-nightly/wasm32-unknown-unknown/release/offers_widget.wasm
  split=1
else
  say "building the widget (release, wasm32, stable)"
  cargo build --release --lib --target wasm32-unknown-unknown -p offers-widget --no-default-features
  wasm=target/wasm32-unknown-unknown/release/offers_widget.wasm
  split=
fi
bash scripts/wasm-widget-steps.sh "$wasm" "$split" target/widget-bundle dist/widget
say "widget bundle: $(ls dist/widget | tr '\n' ' ')"
