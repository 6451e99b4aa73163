#!/usr/bin/env bash
# Builds the widget bundle with stable and with the pinned nightly (build-std, immediate-abort
# panics) in one run and prints both size tables, so the ratio is measured side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
OFFERS_WIDGET_STABLE=1 bash scripts/build-widget.sh >/dev/null 2>&1
echo "### stable"; node bench/size.mjs dist/widget
bash scripts/build-widget.sh >/dev/null 2>&1
echo "### nightly build-std"; node bench/size.mjs dist/widget
