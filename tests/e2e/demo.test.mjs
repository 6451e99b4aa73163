// The run command's promise: the API serves a demo chat page whose offer is rendered by the
// wasm widget, inside a shadow root, from the API's own feed.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ARTIFACTS, launchBrowser, startApi } from "./support.mjs";

let api;
let browser;

before(async () => {
  api = await startApi();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await api?.stop();
});

test("the demo host page shows the demo project's offer, rendered by the widget", async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${api.base}/demo/`);
  const title = page.locator("[data-offers-widget=popup] .offer__title");
  await title.waitFor({ timeout: 15_000 });
  assert.equal(await title.textContent(), "Welcome to Offers");
  // Isolation: the card lives in the widget's shadow root, not in the host's DOM.
  const inLightDom = await page.evaluate(() => document.querySelectorAll(".offer").length);
  assert.equal(inLightDom, 0);
  await page.screenshot({ path: join(ARTIFACTS, "demo-popup.png") });

  await page.locator("[data-offers-widget=popup] .offer__close").click();
  await page.locator("[data-offers-widget=popup] .offer").waitFor({ state: "detached", timeout: 5_000 });
  assert.deepEqual(errors, []);
});

test("the Studio is served under /studio/ and validates with the core", async () => {
  const page = await browser.newPage();
  await page.goto(`${api.base}/studio/`);
  const title = page.locator("#title");
  await title.waitFor({ timeout: 15_000 });
  await title.fill("This title is far too long to fit");
  const field = page.locator('[data-field="title"]');
  await assert.doesNotReject(field.locator(".field__reason", { hasText: "at most 23" }).waitFor({ timeout: 5_000 }));
  assert.match(await field.getAttribute("class"), /field--bad/);
  await title.fill("Short title");
  await field.locator(".field__reason", { hasText: "ok" }).waitFor({ timeout: 5_000 });
  assert.match(await field.getAttribute("class"), /field--ok/);
  await page.screenshot({ path: join(ARTIFACTS, "studio.png") });
});
