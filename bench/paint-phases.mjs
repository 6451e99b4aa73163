// Where the widget's time to its first painted offer goes, in headless Chromium: each run in a
// fresh browser context, the API serving dist/widget or DIR (target/debug/offers-api, or
// OFFERS_API_BIN). Per run it takes the resource timings of the loader, the feed, the wasm and
// the glue, and marks (from an init script: nothing is added to the bundle) when
// `WebAssembly.compileStreaming` and `WebAssembly.instantiate` resolve, when the card is in
// the DOM and the frame after. Prints the median and range of each phase as a Markdown table.
//
// As in bench/paint.mjs, the host page comes from a plain HTTP server of its own (another
// origin) and the run waits on a promise the page resolves: no `page.route`, no
// `waitForFunction` (whose injected script would run inside the measured span).
//
// Usage: node bench/paint-phases.mjs [runs, default 11] [DIR, default dist/widget]
//   e.g. `node bench/paint-phases.mjs 15 target/leptos-floor/dist` for the Leptos floor
//   (bench/leptos-floor.sh), which answers the same loader.
import { createServer } from "node:http";
import { resolve } from "node:path";
import { createProject, hostPage, launchBrowser, offerBody, partner, startApi } from "../tests/e2e/support.mjs";

const RUNS = Number(process.argv[2] ?? 11);
const api = await startApi(process.argv[3] ? { widgetDir: resolve(process.argv[3]) } : {});
const browser = await launchBrowser();
const phases = [];
let hostServer;
try {
  const project = createProject(api, "paint-phases");
  await partner(api, project, "POST", "/external/offer", offerBody({ title: "Weekend bonus" }));
  const html = hostPage({ project, widgetOrigin: api.base });
  hostServer = createServer((req, res) =>
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(html));
  await new Promise((ok) => hostServer.listen(0, "127.0.0.1", ok));
  const hostBase = `http://127.0.0.1:${hostServer.address().port}`;
  for (let i = 0; i < RUNS; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.addInitScript(() => {
      const marks = (window.__marks = {});
      const mark = (name) => (marks[name] = performance.now());
      const compile = WebAssembly.compileStreaming;
      WebAssembly.compileStreaming = function (...args) {
        return compile.apply(this, args).then((m) => (mark("compiled"), m));
      };
      const instantiate = WebAssembly.instantiate;
      WebAssembly.instantiate = function (...args) {
        return instantiate.apply(this, args).then((r) => (mark("instantiated"), r));
      };
      window.__painted = new Promise((done) => {
        (function watch() {
          const host = document.querySelector("[data-offers-widget=popup]");
          if (host?.shadowRoot?.querySelector(".offer")) {
            mark("card");
            requestAnimationFrame(() => done(mark("painted")));
          } else requestAnimationFrame(watch);
        })();
      });
    });
    await page.goto(`${hostBase}/${i}`);
    const { marks, resources } = await page.evaluate(() => window.__painted.then(() => ({
      marks: window.__marks,
      resources: performance.getEntriesByType("resource").map((e) => [new URL(e.name).pathname, e.startTime, e.responseEnd]),
    })));
    const find = (test) => resources.find(([path]) => test(path)) ?? [null, NaN, NaN];
    const [, , loaderEnd] = find((p) => p.endsWith("/offers.js"));
    const [, feedStart, feedEnd] = find((p) => p.endsWith("/widget/v1/offers"));
    const [, wasmStart, wasmEnd] = find((p) => p.endsWith("_bg.wasm"));
    const [, glueStart, glueEnd] = find((p) => /\/offers-[0-9a-f]+\.js$/.test(p));
    const [, loaderStart] = find((p) => p.endsWith("/offers.js"));
    phases.push({
      "loader: request to last byte": loaderEnd - loaderStart,
      "loader's last byte to the feed's request": feedStart - loaderEnd,
      "feed: request to last byte": feedEnd - feedStart,
      "wasm: request to last byte": wasmEnd - wasmStart,
      "glue: request to last byte": glueEnd - glueStart,
      "wasm compiled, after its last byte": marks.compiled - wasmEnd,
      "instantiated, after compiled": marks.instantiated - marks.compiled,
      "card in the DOM, after both instance and feed": marks.card - Math.max(marks.instantiated, feedEnd),
      "painted frame, after the card": marks.painted - marks.card,
      "painted, from navigation start": marks.painted,
    });
    await context.close();
  }
} finally {
  await browser.close();
  await api.stop();
  hostServer?.close();
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(`| phase (${RUNS} runs) | median ms | range ms |\n|---|---:|---|`);
for (const name of Object.keys(phases[0])) {
  const values = phases.map((p) => p[name]);
  console.log(`| ${name} | ${median(values).toFixed(0)} | ${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)} |`);
}
