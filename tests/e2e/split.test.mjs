// The widget's after-paint module (src/after_paint.rs, split off the wasm by wasm-split-cli):
// fetched only after the first offer is painted, and a failed fetch costs one click, not the
// widget. Real API, real Chromium, the shipped bundle.
import { test } from "node:test";
import assert from "node:assert/strict";
import { POPUP, apiAndBrowser, createProject, hostPage, offerBody, partner, serveHtml } from "./support.mjs";

const env = apiAndBrowser();
let counter = 0;

// Notes (every frame) when the card is first in the pop-up's shadow root.
const WATCH_CARD = `<script>(function watch() {
  var host = document.querySelector("[data-offers-widget=popup]");
  if (host && host.shadowRoot && host.shadowRoot.querySelector(".offer")) window.__cardAt = performance.now();
  else requestAnimationFrame(watch);
})();</script>`;

async function open(routeAfterPaint) {
  const { api, browser } = env;
  const project = createProject(api, `split-${++counter}`);
  await partner(api, project, "POST", "/external/offer", offerBody({ title: "Split" }));
  const context = await browser.newContext();
  const requests = [];
  await context.route("**/widget/offers-after-paint-*.wasm", (route) => {
    requests.push(route.request().url());
    return routeAfterPaint ? routeAfterPaint(route, requests.length) : route.continue();
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const notLoaded = page.waitForEvent("console", {
    predicate: (m) => m.type() === "warning" && m.text().includes("after-paint module did not load"),
    timeout: 15_000,
  });
  notLoaded.catch(() => {});
  const url = `${api.base}/host/split-${counter}.html`;
  await serveHtml(page, url, hostPage({ project, extraHead: WATCH_CARD }));
  await page.goto(url);
  await page.locator(`${POPUP} .offer`).waitFor({ timeout: 15_000 });
  return { context, page, requests, errors, notLoaded };
}

test("the after-paint module is fetched once, after the first offer is painted, and clicks run through it", async () => {
  const { context, page, requests, errors } = await open();
  await page.waitForFunction(() => performance.getEntriesByType("resource").some((e) => e.name.includes("offers-after-paint-")));
  const timing = await page.evaluate(() => {
    const entry = performance.getEntriesByType("resource").find((e) => e.name.includes("offers-after-paint-"));
    return { cardAt: window.__cardAt, fetchedAt: entry.startTime };
  });
  assert.ok(timing.cardAt !== undefined, "the page saw the card");
  assert.ok(timing.fetchedAt > timing.cardAt, `fetched at ${timing.fetchedAt} ms, card at ${timing.cardAt} ms`);
  // The close button's work is in that module.
  await page.locator(`${POPUP} .offer__close`).click();
  await page.locator(`${POPUP} .offer`).waitFor({ state: "detached", timeout: 5_000 });
  assert.equal(requests.length, 1, "fetched once");
  assert.deepEqual(errors, []);
  await context.close();
});

test("when the after-paint module fails to load, the widget warns and the next click fetches it again", async () => {
  // The first fetch (the loader's preload after the first paint) fails; the next ones work.
  const { context, page, requests, errors, notLoaded } = await open((route, n) => (n === 1 ? route.abort() : route.continue()));
  await notLoaded;
  assert.equal(await page.locator(`${POPUP} .offer`).count(), 1, "the painted offer stays");
  await page.locator(`${POPUP} .offer__close`).click();
  await page.locator(`${POPUP} .offer`).waitFor({ state: "detached", timeout: 5_000 });
  assert.equal(requests.length, 2);
  assert.deepEqual(errors, []);
  await context.close();
});
