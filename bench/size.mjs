// Widget bundle size: raw, gzip -9 and brotli (quality 11) of every file of the bundle: the
// critical path (loader, wasm-bindgen glue, wasm: what downloads before the first offer paints)
// and what the loader fetches after that paint (the extras module, the wasm's after-paint module).
// Usage: node bench/size.mjs [dist/widget]
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const dir = process.argv[2] ?? "dist/widget";
const rows = [];
for (const name of readdirSync(dir).sort()) {
  if (!/\.(js|wasm|css)$/.test(name)) continue;
  const raw = readFileSync(join(dir, name));
  const gzip = gzipSync(raw, { level: 9 }).length;
  const brotli = brotliCompressSync(raw, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
  }).length;
  rows.push({ name, raw: raw.length, gzip, brotli });
}
const sum = (rs) => rs.reduce((t, r) => ({ raw: t.raw + r.raw, gzip: t.gzip + r.gzip, brotli: t.brotli + r.brotli }), { raw: 0, gzip: 0, brotli: 0 });
// The extras module and the after-paint wasm load after the first offer is painted.
const afterPaint = (r) => r.name.startsWith("offers-extras-") || r.name.startsWith("offers-after-paint-");
const kb = (n) => (n / 1024).toFixed(1);
const line = (name, r) => console.log(`| ${name} | ${kb(r.raw)} | ${kb(r.gzip)} | ${kb(r.brotli)} |`);
console.log("| file | raw KB | gzip KB | brotli KB |\n|---|---:|---:|---:|");
for (const r of rows.filter((r) => !afterPaint(r))) line(r.name.replace(/-[0-9a-f]{16}/, "-<hash>"), r);
line("**critical path**", sum(rows.filter((r) => !afterPaint(r))));
for (const r of rows.filter(afterPaint)) line(`${r.name.replace(/-[0-9a-f]{16}/, "-<hash>")} (after paint)`, r);
line("**total**", sum(rows));
