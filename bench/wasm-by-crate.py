#!/usr/bin/env python3
"""Attributes the widget wasm's code bytes to crates, from `twiggy top` of the un-stripped
release build (before wasm-bindgen/wasm-opt; shares are what matter, not absolute bytes).
Usage: python3 bench/wasm-by-crate.py [target/wasm32-unknown-unknown/release/offers_widget.wasm]"""
import csv, io, re, subprocess, sys
from collections import Counter

path = sys.argv[1] if len(sys.argv) > 1 else "target/wasm32-unknown-unknown/release/offers_widget.wasm"
out = subprocess.run(["twiggy", "top", "-n", "1000000", "--format", "csv", path],
                     capture_output=True, text=True, check=True).stdout
sizes = Counter()
for row in csv.DictReader(io.StringIO(out)):
    name, size = row["Name"], int(row["ShallowSize"])
    if "__wbindgen_describe" in name or name.startswith("__wbg_") and "describe" in name:
        continue  # descriptors wasm-bindgen reads and strips; never shipped
    if name.startswith("custom section") or "function names" in name or name.startswith("data segment"):
        if name.startswith("data segment"):
            sizes["(static data)"] += size
        continue
    # The first path segment inside the symbol (skipping <, &, impl wrappers) names the crate.
    m = re.search(r"([a-z_][a-z0-9_]*)(?:\[[0-9a-f]+\])?::", name)
    crate = m.group(1) if m else "(other)"
    crate = {"std": "std/core/alloc", "core": "std/core/alloc", "alloc": "std/core/alloc",
             "serde_core": "serde", "serde_derive": "serde"}.get(crate, crate)
    sizes[crate] += size
total = sum(sizes.values())
print(f"| crate | code KB | share |\n|---|---:|---:|")
for crate, size in sizes.most_common(18):
    print(f"| {crate} | {size/1024:.1f} | {100*size/total:.0f}% |")
print(f"| **total** | {total/1024:.1f} | 100% |")
