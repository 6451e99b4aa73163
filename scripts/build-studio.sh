#!/usr/bin/env bash
# Builds the Studio (index.html, src/main.rs) with Trunk into dist/studio, for /studio/.
set -euo pipefail
source "$(dirname "$0")/setup.sh"

say "building the Studio (trunk, release)"
cargo fetch --quiet # Trunk runs cargo offline (Trunk.toml).
trunk build --release --offline
