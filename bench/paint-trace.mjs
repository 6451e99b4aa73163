// A Chromium trace of the widget's first paint: one warm-up load, then one traced load in a
// fresh context. Prints the renderer main thread's top-level tasks from the loader's request
// to the painted frame (name, start, duration, the longest nested slices), and the wasm
// compile work on every thread. Writes the raw trace next to it for chrome://tracing.
//
// Usage: node bench/paint-trace.mjs [out.json] [DIR]   (needs dist/widget, or DIR, and
// target/debug/offers-api). With a bundle whose wasm keeps its function names
// (bench/paint-functions.sh builds one), it also lists the functions V8 compiled during the
// load (`wasm.CompileLazy`: each function is compiled on its first call): how many, their
// bytes, by crate, and the largest.
import { readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:http";
import { join, resolve } from "node:path";
import { ROOT, createProject, hostPage, launchBrowser, offerBody, partner, startApi } from "../tests/e2e/support.mjs";
import { crateOf, functions } from "./wasm-names.mjs";

const OUT = process.argv[2] ?? "/tmp/offers-paint-trace.json";
const DIR = process.argv[3] ? resolve(process.argv[3]) : undefined;
const CATEGORIES = [
  "devtools.timeline", "disabled-by-default-devtools.timeline", "v8", "v8.execute", "v8.wasm",
  "blink", "loading",
  "toplevel", ...(process.env.TRACE_CPU ? ["disabled-by-default-v8.cpu_profiler"] : []),
];
const api = await startApi(DIR ? { widgetDir: DIR } : {});
const browser = await launchBrowser();
// The host page from a server of its own (no Playwright interception of the page's requests),
// and no `waitForFunction` (its injected script would run inside the traced span).
let html = "";
const host = createServer((_, res) => res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html));
await new Promise((ok) => host.listen(0, "127.0.0.1", ok));
try {
  const project = createProject(api, "paint-trace");
  await partner(api, project, "POST", "/external/offer", offerBody({ title: "Weekend bonus" }));
  html = hostPage({ project, widgetOrigin: api.base });
  for (const traced of [false, true]) {
    const context = await browser.newContext();
    const page = await context.newPage();
    if (traced) await browser.startTracing(page, { path: OUT, categories: CATEGORIES });
    await page.goto(`http://127.0.0.1:${host.address().port}/`);
    await page.evaluate(() => new Promise((done) => (function watch() {
      const popup = document.querySelector("[data-offers-widget=popup]");
      if (popup?.shadowRoot?.querySelector(".offer")) requestAnimationFrame(() => requestAnimationFrame(done));
      else requestAnimationFrame(watch);
    })()));
    if (traced) await browser.stopTracing();
    await context.close();
  }
} finally {
  await browser.close();
  await api.stop();
  host.close();
}

const { traceEvents } = JSON.parse(readFileSync(OUT, "utf8"));
const threadName = new Map();
for (const e of traceEvents) if (e.ph === "M" && e.name === "thread_name") threadName.set(`${e.pid}:${e.tid}`, e.args.name);
const main = [...threadName].find(([, n]) => n === "CrRendererMain")?.[0];
const sends = traceEvents.filter((e) => e.name === "ResourceSendRequest" && `${e.pid}:${e.tid}` === main);
const loader = sends.find((e) => e.args?.data?.url?.endsWith("/offers.js"));
const t0 = loader?.ts ?? 0;
const ms = (us) => (us / 1000).toFixed(1);
const onMain = traceEvents.filter((e) => `${e.pid}:${e.tid}` === main && e.ph === "X" && e.ts >= t0);
const tasks = onMain.filter((e) => e.name === "ThreadControllerImpl::RunTask" || e.name === "RunTask");
console.log(`main-thread tasks ≥ 0.3 ms after the loader's request (t = ms since it):`);
for (const task of tasks.filter((t) => t.dur >= 300)) {
  const inner = onMain.filter((e) => e !== task && e.ts >= task.ts && e.ts + e.dur <= task.ts + task.dur && e.dur >= 200)
    .sort((a, b) => b.dur - a.dur).slice(0, 6)
    .map((e) => `${e.name}${e.args?.data?.url ? ` (${e.args.data.url.split("/").pop()})` : ""} ${ms(e.dur)}`);
  console.log(`  t=${ms(task.ts - t0)} ${ms(task.dur)} ms: ${inner.join(", ")}`);
}
const marks = traceEvents.filter((e) => `${e.pid}:${e.tid}` === main && ["ResourceReceiveResponse", "ResourceFinish", "ResourceSendRequest"].includes(e.name) && e.ts >= t0);
console.log(`\nresources:`);
for (const e of marks) console.log(`  t=${ms(e.ts - t0)} ${e.name} ${(e.args?.data?.url ?? e.args?.data?.requestId ?? "").toString().split("/").pop()}`);
const wasm = traceEvents.filter((e) => /wasm/i.test(e.name) && e.ph === "X" && e.ts >= t0);
const byName = new Map();
for (const e of wasm) {
  const k = `${e.name} [${threadName.get(`${e.pid}:${e.tid}`) ?? e.tid}]`;
  const v = byName.get(k) ?? { n: 0, dur: 0, first: e.ts, last: e.ts + e.dur };
  v.n++; v.dur += e.dur; v.first = Math.min(v.first, e.ts); v.last = Math.max(v.last, e.ts + e.dur);
  byName.set(k, v);
}
console.log(`\nwasm events:`);
for (const [k, v] of [...byName].sort((a, b) => b[1].dur - a[1].dur).slice(0, 25))
  console.log(`  ${k}: ${v.n}× ${ms(v.dur)} ms, t=${ms(v.first - t0)}–${ms(v.last - t0)}`);
const paints = traceEvents.filter((e) => `${e.pid}:${e.tid}` === main && e.name === "Paint" && e.ts >= t0);
console.log(`\npaints at t=${paints.map((e) => ms(e.ts - t0)).join(", ")}`);

// The functions compiled during the load, named when the wasm keeps its names.
const wasmFile = readdirSync(DIR ?? join(ROOT, "dist", "widget")).find((f) => f.endsWith("_bg.wasm"));
const bodies = functions(readFileSync(join(DIR ?? join(ROOT, "dist", "widget"), wasmFile)));
const compiled = traceEvents.filter((e) => e.name === "wasm.CompileLazy" && e.ts >= t0);
if ([...bodies.values()].some((f) => !f.name.startsWith("func"))) {
  const seen = [...new Set(compiled.map((e) => e.args?.func_index))].map((i) => bodies.get(i)).filter(Boolean);
  const all = [...bodies.values()];
  const bytes = (list) => list.reduce((sum, f) => sum + f.size, 0);
  console.log(`\nfunctions compiled during the load (to two frames after the first card): ${seen.length} of ${all.length}, ` +
    `${(bytes(seen) / 1024).toFixed(1)} of ${(bytes(all) / 1024).toFixed(1)} KB of code`);
  const byCrate = new Map();
  for (const f of seen) {
    const c = byCrate.get(crateOf(f.name)) ?? { n: 0, size: 0 };
    c.n++; c.size += f.size;
    byCrate.set(crateOf(f.name), c);
  }
  for (const [crate, c] of [...byCrate].sort((a, b) => b[1].size - a[1].size).slice(0, 15))
    console.log(`  ${crate}: ${c.n} functions, ${(c.size / 1024).toFixed(1)} KB`);
  console.log(`the largest:`);
  for (const f of seen.sort((a, b) => b.size - a.size).slice(0, 20)) console.log(`  ${f.size} B ${f.name.slice(0, 150)}`);
}
