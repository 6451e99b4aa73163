// Time to the first painted offer: the widget against a hand-written vanilla-JS pop-up of the
// same offer, on the same host page, in headless Chromium, alternating, each run in a fresh
// browser context (cold cache). Both scripts are served by the same API process (the widget from
// dist/widget, the vanilla pop-up from a copy of that folder), both fetch the same feed.
//
// The host pages come from a plain HTTP server of their own (another origin, as a host chat's
// page is), and the run waits on a promise the page resolves: Playwright neither intercepts the
// page's requests (a `page.route` sends every request of the page through this process) nor
// injects its ~30 ms utility script (`waitForFunction`) while the widget boots. PAINT_METHOD=route
// measures the old way (both), for comparison.
//
// Usage: node bench/paint.mjs [runs per side, default 15] [label=DIR ...]   (needs dist/widget,
// or each DIR, and target/debug/offers-api; prints a Markdown table and what crossed the wire
// for each widget). With several `label=DIR` bundles (e.g. `before=/tmp/old-dist
// after=dist/widget`) every bundle runs in the same alternation, each under /widget/<label>/.
// `floor=target/leptos-floor/dist` (built by bench/leptos-floor.sh) times the smallest Leptos
// widget beside ours: what Leptos itself costs, against what the widget's own work costs.
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { cpSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { API_BIN, ROOT, createProject, launchBrowser, offerBody, partner } from "../tests/e2e/support.mjs";

const RUNS = Number(process.argv[2] ?? 15);
const BUNDLES = process.argv.slice(3).map((arg) => {
  const [label, dir] = arg.split("=");
  if (!label || !dir) throw new Error(`expected label=DIR, got ${arg}`);
  return { label, dir };
});
if (BUNDLES.length === 0) BUNDLES.push({ label: "widget", dir: join(ROOT, "dist", "widget") });

// The vanilla pop-up: fetch the feed, render the first offer's card in a shadow root. It
// checks nothing the core would (colors, links): the floor that a widget cannot go below.
const VANILLA = `(function () {
  var s = document.currentScript, d = s.dataset, api = new URL("/", s.src).href.replace(/\\/$/, "");
  fetch(api + "/widget/v1/offers?key=" + encodeURIComponent(d.project) + "&room=" + encodeURIComponent(d.room) +
    "&user=" + encodeURIComponent(d.user), { credentials: "omit" })
    .then(function (r) { return r.json(); })
    .then(function (body) {
      var o = body.offers[0]; if (!o) return;
      var host = document.createElement("div"); host.setAttribute("data-vanilla", "popup");
      document.body.appendChild(host);
      var root = host.attachShadow({ mode: "open" });
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(".layer{position:fixed;right:16px;bottom:16px;width:min(360px,calc(100vw - 32px));z-index:2147483000}" +
        ".offer{border-radius:12px;padding:16px 18px;box-shadow:0 8px 24px rgba(0,0,0,.2);font:15px/1.4 system-ui,sans-serif}" +
        ".offer__title{font-weight:700;margin:0 0 4px}.offer__text{margin:0 0 10px}" +
        ".offer__btn{border:0;border-radius:8px;padding:8px 14px;font:inherit}" +
        ".offer__close{position:absolute;top:6px;right:8px;border:0;background:none;font-size:20px}");
      root.adoptedStyleSheets = [sheet];
      var layer = document.createElement("div"); layer.className = "layer";
      var card = document.createElement("div"); card.className = "offer"; card.setAttribute("role", "dialog");
      var t = o.templateData || {};
      card.style.setProperty("background", t.bgColor || "#fff");
      card.style.setProperty("color", t.textColor || "#000");
      var close = document.createElement("button"); close.className = "offer__close"; close.textContent = "\\u00d7";
      close.onclick = function () { host.remove(); };
      card.appendChild(close);
      if (o.title) { var h = document.createElement("p"); h.className = "offer__title"; h.textContent = o.title; card.appendChild(h); }
      if (o.text) { var p = document.createElement("p"); p.className = "offer__text"; p.textContent = o.text; card.appendChild(p); }
      if (o.linkText) {
        var b = document.createElement("button"); b.className = "offer__btn"; b.textContent = o.linkText;
        b.style.setProperty("background", t.btnColor || "#1890bf"); b.style.setProperty("color", t.btnTextColor || "#fff");
        b.onclick = function () { window.open(o.link, "_blank", "noopener"); };
        card.appendChild(b);
      }
      layer.appendChild(card); root.appendChild(layer);
    });
})();
`;

function freePort() {
  return new Promise((ok) => {
    import("node:net").then(({ createServer }) => {
      const server = createServer();
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address();
        server.close(() => ok(port));
      });
    });
  });
}

async function startApi(widgetDir) {
  const dir = mkdtempSync(join(tmpdir(), "offers-paint-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const databaseUrl = `sqlite://${join(dir, "offers.db")}`;
  const child = spawn(API_BIN, ["serve", "--addr", `127.0.0.1:${port}`, "--database-url", databaseUrl,
    "--widget-dir", widgetDir], { cwd: dir, stdio: "ignore", env: { ...process.env, RUST_LOG: "warn" } });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error("offers-api exited early");
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error("offers-api did not become healthy");
    await new Promise((r) => setTimeout(r, 100));
  }
  return { base, databaseUrl, stop: () => child.kill("SIGTERM") };
}

// The host page: an inline script notes when the tag is reached and watches (every frame) for
// the card; the time is taken in the frame after it appeared, i.e. once it has been painted.
function hostPage(scriptTag, selector) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Host chat</title></head>
<body><main id="chat"><p>Hello from the host chat</p><input id="chat-input"></main>
<script>window.__t0 = performance.now(); window.__done = new Promise(function (done) { (function watch() {
  var host = document.querySelector(${JSON.stringify(selector)});
  var card = host && host.shadowRoot && host.shadowRoot.querySelector(".offer");
  if (card) requestAnimationFrame(function () { done(window.__painted = performance.now() - window.__t0); });
  else requestAnimationFrame(watch);
})(); });</script>
${scriptTag}</body></html>`;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const widgetDir = mkdtempSync(join(tmpdir(), "offers-paint-widget-"));
for (const { label, dir } of BUNDLES) cpSync(dir, join(widgetDir, label), { recursive: true });
const vanillaBytes = Buffer.from(VANILLA);
writeFileSync(join(widgetDir, "vanilla.js"), vanillaBytes);
writeFileSync(join(widgetDir, "vanilla.js.br"), brotliCompressSync(vanillaBytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
writeFileSync(join(widgetDir, "vanilla.js.gz"), gzipSync(vanillaBytes, { level: 9 }));

const api = await startApi(widgetDir);
const browser = await launchBrowser();
let hostServer;
try {
  const project = createProject(api, "paint-bench");
  await partner(api, project, "POST", "/external/offer", offerBody({ title: "Weekend bonus" }));
  const attrs = `data-project="${project.publicKey}" data-room="room-1" data-user="user-1"`;
  const sides = {
    vanilla: hostPage(`<script src="${api.base}/widget/vanilla.js" ${attrs} async></script>`, "[data-vanilla=popup]"),
  };
  for (const { label } of BUNDLES) {
    sides[label] = hostPage(`<script src="${api.base}/widget/${label}/offers.js" ${attrs} async></script>`, "[data-offers-widget=popup]");
  }
  // The host pages' own origin (PAINT_METHOD=route: http://chat.test/, answered by page.route).
  const routed = process.env.PAINT_METHOD === "route";
  hostServer = createServer((req, res) => {
    const side = decodeURIComponent(req.url.slice(1));
    if (!(side in sides)) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(sides[side]);
  });
  await new Promise((ok) => hostServer.listen(0, "127.0.0.1", ok));
  const hostBase = routed ? "http://chat.test" : `http://127.0.0.1:${hostServer.address().port}`;
  const order = [...BUNDLES.map((b) => b.label), "vanilla"];
  const times = Object.fromEntries(order.map((side) => [side, []]));
  const wire = {};
  for (let i = 0; i < RUNS * order.length; i++) {
    const side = order[i % order.length];
    const context = await browser.newContext();
    const page = await context.newPage();
    if (routed) {
      await page.route(`${hostBase}/${side}`, (route) =>
        route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: sides[side] }));
    }
    const responses = [];
    page.on("response", (r) => responses.push(r));
    await page.goto(`${hostBase}/${encodeURIComponent(side)}`);
    if (routed) await page.waitForFunction(() => window.__painted !== undefined, null, { timeout: 30_000 });
    times[side].push(await page.evaluate(() => window.__done));
    if (side !== "vanilla" && wire[side] === undefined) {
      // What the first offer's paint waited for, and what followed (the extras module loads in
      // the frame after the paint: wait for it to show up).
      await page.waitForLoadState("networkidle").catch(() => {});
      wire[side] = [];
      for (const r of responses.filter((r) => r.url().includes("/widget/") && !r.url().includes("/widget/v1/"))) {
        const sizes = await r.request().sizes();
        wire[side].push({ file: new URL(r.url()).pathname.replace(/-[0-9a-f]{16}/, "-<hash>").replace(/\?.*/, ""),
          encoding: r.headers()["content-encoding"] ?? "identity", cache: r.headers()["cache-control"] ?? "",
          bodyKB: (sizes.responseBodySize / 1024).toFixed(1) });
      }
    }
    await context.close();
  }
  const v = median(times.vanilla);
  console.log(`| bundle | runs per side | widget median ms | vanilla median ms | **widget / vanilla** |\n|---|---:|---:|---:|---:|`);
  for (const { label } of BUNDLES) {
    const w = median(times[label]);
    console.log(`| ${label} | ${RUNS} | ${w.toFixed(1)} | ${v.toFixed(1)} | **${(w / v).toFixed(2)}×** |`);
  }
  for (const side of order) console.log(`\n${side} runs (ms): ${times[side].map((t) => t.toFixed(0)).join(" ")}`);
  for (const { label } of BUNDLES) {
    console.log(`\n| what crossed the wire (${label}) | Content-Encoding | Cache-Control | body KB |\n|---|---|---|---:|`);
    for (const r of wire[label]) console.log(`| ${r.file} | ${r.encoding} | ${r.cache} | ${r.bodyKB} |`);
  }
} finally {
  await browser.close();
  api.stop();
  hostServer?.close();
}
