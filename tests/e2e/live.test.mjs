// Live sync as a chat user sees it: offers published, edited, withdrawn or scheduled while the
// page is open; events reaching the partner's figures; identity verification.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { execFileSync } from "node:child_process";
import {
  API_BIN, POPUP, createProject, hostPage, launchBrowser, offerBody, partner, serveHtml, startApi,
} from "./support.mjs";

let api;
let browser;
let counter = 0;

before(async () => {
  api = await startApi();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await api?.stop();
});

async function chatPage(project, options = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const url = `${api.base}/live/${++counter}.html`;
  await serveHtml(page, url, hostPage({ project, ...options }));
  await page.goto(url);
  // The widget is up once its pop-up host exists and the stream is connected.
  await page.waitForFunction(() => document.querySelector("[data-offers-widget=popup]"), null, { timeout: 15_000 });
  await page.waitForTimeout(300);
  return { context, page };
}

test("an offer published, edited and withdrawn while the chat is open follows without a reload", async () => {
  const project = createProject(api, "live-crud");
  const { context, page } = await chatPage(project);
  const title = page.locator(`${POPUP} .offer__title`);
  assert.equal(await title.count(), 0);

  const published = Date.now();
  const { offer } = await partner(api, project, "POST", "/external/offer", offerBody({ title: "Fresh offer" }));
  await title.filter({ hasText: "Fresh offer" }).waitFor({ timeout: 5_000 });
  const latency = Date.now() - published;

  await partner(api, project, "PATCH", `/external/offer/${offer.id}`, { title: "Edited offer" });
  await title.filter({ hasText: "Edited offer" }).waitFor({ timeout: 5_000 });

  await partner(api, project, "DELETE", `/external/offer/${offer.id}`);
  await page.locator(`${POPUP} .offer`).waitFor({ state: "detached", timeout: 5_000 });
  console.log(`# POST to on-screen: ${latency} ms`);
  await context.close();
});

test("an offer moved to another room leaves this chat; a scheduled one appears on time", async () => {
  const project = createProject(api, "live-move");
  const { context, page } = await chatPage(project, { room: "room-1" });
  const { offer } = await partner(api, project, "POST", "/external/offer", offerBody({ title: "Room offer", type: "ROOM", externalRoomIds: ["room-1"] }));
  const card = page.locator(`${POPUP} .offer`);
  await card.waitFor({ timeout: 5_000 });
  await partner(api, project, "PATCH", `/external/offer/${offer.id}`, { externalRoomIds: ["room-9"] });
  await card.waitFor({ state: "detached", timeout: 5_000 });

  const startsAt = Date.now() + 3_000;
  await partner(api, project, "POST", "/external/offer", offerBody({ title: "Scheduled", startTime: new Date(startsAt).toISOString() }));
  await page.waitForTimeout(1_000);
  assert.equal(await card.count(), 0, "not before its start");
  await page.locator(`${POPUP} .offer__title`, { hasText: "Scheduled" }).waitFor({ timeout: 8_000 });
  assert.ok(Date.now() >= startsAt - 50, "shown at its start");
  await context.close();
});

test("impressions, clicks and closes reach the partner's figures exactly once", async () => {
  const project = createProject(api, "live-events");
  const { offer } = await partner(api, project, "POST", "/external/offer", offerBody({ title: "Counted", link: "https://shop.test/x" }));
  const { context, page } = await chatPage(project, { parentOrigin: "" });
  await context.route("https://shop.test/**", (r) => r.fulfill({ status: 200, body: "shop" }));
  const tab = context.waitForEvent("page");
  await page.locator(`${POPUP} .offer__btn`).click({ timeout: 10_000 });
  await tab;
  // Leaving the page hands pending events to sendBeacon.
  await page.goto("about:blank");
  let stats;
  for (let i = 0; i < 50; i++) {
    stats = await partner(api, project, "GET", `/external/offer/${offer.id}/stats`);
    if (stats.impressions >= 1 && stats.clicks >= 1) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(stats.impressions, 1);
  assert.equal(stats.clicks, 1);
  assert.equal(stats.uniqueUsers, 1);
  assert.equal(stats.ctr, 1);
  await context.close();
});

test("with identity verification, only a correctly signed user gets their personal offer", async () => {
  const project = createProject(api, "live-identity");
  execFileSync(API_BIN, ["project", "set", "--project", String(project.id), "--require-user-signature", "true", "--database-url", api.databaseUrl]);
  await partner(api, project, "POST", "/external/offer", offerBody({ title: "For Alice", type: "USER", externalUserIds: ["alice"] }));
  const sign = (user) => createHmac("sha256", project.identitySecret).update(user).digest("hex");
  const cases = [
    { name: "unsigned", sig: "", shown: false },
    { name: "wrongly signed", sig: sign("mallory"), shown: false },
    { name: "signed", sig: sign("alice"), shown: true },
  ];
  for (const c of cases) {
    const { context, page } = await chatPage(project, { user: "alice", sig: c.sig });
    const shown = await page.locator(`${POPUP} .offer`).waitFor({ timeout: 2_000 }).then(() => true, () => false);
    assert.equal(shown, c.shown, c.name);
    await context.close();
  }
});
