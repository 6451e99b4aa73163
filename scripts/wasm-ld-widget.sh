#!/usr/bin/env bash
# The linker of the shipped widget (scripts/build-widget.sh passes it as `-C linker=`): rust-lld
# (OFFERS_RUST_LLD, from the toolchain building the widget) without the exports of the
# wasm-streams classes (`IntoUnderlyingByteSource`, `IntoUnderlyingSink`,
# `IntoUnderlyingSource`). Leptos turns on server_fn's `browser` feature unconditionally, which
# brings those `#[wasm_bindgen]` classes; the widget never uses them, but rustc asks the linker
# to export every `#[wasm_bindgen]` item of every crate (`--export NAME`), and an export keeps
# its code, the closures it makes and their vtables (the function table), so neither LTO nor
# wasm-opt can drop them afterwards. Not exported, they are never linked: −4.9 KB brotli
# (BENCHMARKS.md). scripts/bundle-widget.mjs still deletes their glue.
set -euo pipefail
: "${OFFERS_RUST_LLD:?set by scripts/build-widget.sh}"
args=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--export" ] && [ $# -ge 2 ] && [[ "$2" == *intounderlying* ]]; then
    shift 2
    continue
  fi
  args+=("$1")
  shift
done
exec "$OFFERS_RUST_LLD" "${args[@]}"
