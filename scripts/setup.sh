# Shared set-up for scripts/run and scripts/test: installs what this machine lacks, skips what
# it has. Sourced, not run. Facts behind each step: ../shared/TOOLCHAIN.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true
TRUNK_VERSION=0.21.14

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

# The machine image carries a pinned nightly (TOOLCHAIN.md); when it is there, the widget's
# release build rebuilds std for size with it. Nothing is downloaded for it but its wasm32
# std and rust-src components; without it the stable build is used.
WIDGET_NIGHTLY=nightly-x86_64-unknown-linux-gnu

nightly_available() {
  rustup toolchain list | grep -q "^$WIDGET_NIGHTLY"
}

ensure_nightly_components() {
  nightly_available || return 0
  if ! rustup target list --toolchain "$WIDGET_NIGHTLY" --installed | grep -qx wasm32-unknown-unknown; then
    say "adding wasm32-unknown-unknown to $WIDGET_NIGHTLY"
    rustup target add --toolchain "$WIDGET_NIGHTLY" wasm32-unknown-unknown
  fi
  if ! rustup component list --toolchain "$WIDGET_NIGHTLY" --installed | grep -q '^rust-src'; then
    say "adding rust-src to $WIDGET_NIGHTLY"
    rustup component add --toolchain "$WIDGET_NIGHTLY" rust-src
  fi
}

ensure_chromium() {
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    say "installing Debian's chromium and chromium-driver"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
  fi
}

# The wasm-bindgen version Cargo.lock resolved; the CLI must match it exactly.
locked_wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

ensure_wasm_bindgen_cli() {
  local want
  want="$(locked_wasm_bindgen_version)"
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
    say "installing wasm-bindgen-cli $want (about 8 minutes)"
    # Not --locked: its lock file pins a webpki-roots the registry no longer has (TOOLCHAIN.md).
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

ensure_trunk() {
  if [ "$(trunk --version 2>/dev/null | awk '{print $2}')" != "$TRUNK_VERSION" ]; then
    say "installing trunk $TRUNK_VERSION (10-17 minutes; 0.22 needs a newer rustc)"
    cargo install trunk --version "$TRUNK_VERSION" --locked
  fi
}

ensure_npm_packages() {
  # node_modules/.package-lock.json is what `npm ci` wrote last; reinstall when the lock changed.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm packages (binaryen's wasm-opt, playwright-core)"
    npm ci --no-audit --no-fund
  fi
}

# moto's S3-compatible server on loopback, for the API's S3 media-store test.
ensure_moto() {
  if [ ! -x target/moto-venv/bin/moto_server ]; then
    say "installing moto (a local S3-compatible server for tests) into target/moto-venv"
    python3 -m venv target/moto-venv
    target/moto-venv/bin/pip install --quiet 'moto[server]'
  fi
}

ensure_postgres() {
  if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
    say "starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  fi
}

# cargo-fuzz (libFuzzer) for crates/offers-core/fuzz; the targets build with the pinned nightly.
CARGO_FUZZ_VERSION=0.13.2

ensure_cargo_fuzz() {
  if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "$CARGO_FUZZ_VERSION" ]; then
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION (about 2 minutes)"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
  fi
}

# wasm-split-cli: splits the shipped widget's wasm at `src/after_paint.rs`'s split point into the
# module that paints the first offer and the module fetched after that paint
# (scripts/build-widget.sh). The version of the tool that matches leptos' wasm_split_helpers 0.2.
WASM_SPLIT_VERSION=0.2.4

ensure_wasm_split_cli() {
  if ! cargo install --list | grep -qx "wasm_split_cli_support v$WASM_SPLIT_VERSION:"; then
    say "installing wasm-split-cli $WASM_SPLIT_VERSION (about 2 minutes)"
    cargo install wasm_split_cli_support --version "$WASM_SPLIT_VERSION" --locked --features build-binary
  fi
}

ensure_build_tools() {
  ensure_wasm_target
  ensure_nightly_components
  ensure_npm_packages
  ensure_wasm_bindgen_cli
  ensure_wasm_split_cli
  ensure_trunk
}
