// Campaigns in the widget (SPEC §9): offers shown on an event the host reports (Offers.track,
// or the framing app's postMessage), the project's caps held across tabs, variants stable per
// user, and the holdout that sees nothing. Real API, real Chromium; no sleeps: every wait is
// on a condition, with a timeout.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
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

/**
 * A fresh project (with `caps` set through the CLI first, so the running server reads them
 * with the project), its offers, and a fresh browser context (empty storage).
 */
async function setup(offers, { caps = [], ...options } = {}) {
  const project = createProject(api, `campaigns-${++counter}`);
  if (caps.length) {
    execFileSync(API_BIN, ["project", "set", "--project", String(project.id), ...caps, "--database-url", api.databaseUrl]);
  }
  const created = [];
  for (const offer of offers) created.push((await partner(api, project, "POST", "/external/offer", offer)).offer);
  const context = await browser.newContext();
  const url = `${api.base}/host/campaigns-${counter}.html`;
  const html = hostPage({ project, ...options });
  return { project, created, context, url, html };
}

async function open(s, url = s.url, html = s.html) {
  const page = await s.context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await serveHtml(page, url, html);
  await page.goto(url);
  return { page, errors };
}

/** The title of the pop-up that is up, once one is (inside the frame `frame` if given). */
async function popupTitle(page, frame) {
  const root = frame ? page.frameLocator(frame) : page;
  const title = root.locator(`${POPUP} .offer__title`);
  await title.waitFor({ timeout: 15_000 });
  return title.textContent();
}

/** Waits for the next animation frame twice: whatever was revealed before is rendered. */
const settled = (page) =>
  page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(() => ok()))));

const popupCount = (page) => page.locator(`${POPUP} .offer`).count();

/** Polls `probe` until it returns something truthy (bounded). */
async function eventually(probe, what, timeout = 15_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

/** The core's assignment (offers_core::campaign::assign), recomputed: FNV-1a 64. */
function assignment(offerId, userKey, weights, holdoutPercent = 0) {
  let hash = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(`${offerId}:${userKey}`)) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  const bucket = Number(hash % 10000n);
  const holdout = holdoutPercent * 100;
  if (bucket < holdout) return "holdout";
  const total = weights.reduce((a, b) => a + b, 0);
  const target = Math.floor(((bucket - holdout) * total) / (10000 - holdout));
  let cumulative = 0;
  for (const [i, w] of weights.entries()) {
    cumulative += w;
    if (target < cumulative) return i;
  }
  return weights.length - 1;
}

const DEPOSIT = {
  event: "deposit_failed",
  conditions: [{ field: "props.amount", op: "gte", value: 20 }],
  delayMS: 0,
};

test("Offers.track triggers its offer; another event or unmet conditions do not", async () => {
  const s = await setup([
    offerBody({ title: "Deposit help", trigger: DEPOSIT }),
    offerBody({ title: "Sentinel", trigger: { event: "sentinel" } }),
  ]);
  const { page, errors } = await open(s);
  await page.waitForFunction(() => typeof window.Offers?.track === "function");
  // Not on entry, not for another event, not below the condition, not for bad input.
  await page.evaluate(() => {
    Offers.track("deposit_failed", { amount: 5 });
    Offers.track("deposit_failed");
    Offers.track("deposit_ok", { amount: 50 });
    Offers.track(42, { amount: 50 });
    Offers.track("deposit_failed", "amount=50");
    Offers.track("x".repeat(65));
    Offers.track("sentinel");
  });
  // The sentinel fired after every call above: had one of them fired "Deposit help", that one
  // would be up now.
  assert.equal(await popupTitle(page), "Sentinel");
  await page.locator(`${POPUP} .offer__close`).click();
  await page.locator(`${POPUP} .offer`).waitFor({ state: "detached", timeout: 5_000 });
  await settled(page);
  assert.equal(await popupCount(page), 0, "closing the sentinel brings nothing else");

  await page.evaluate(() => Offers.track("deposit_failed", { amount: 25, currency: "EUR" }, { conversion: true, value: 25 }));
  assert.equal(await popupTitle(page), "Deposit help");
  assert.deepEqual(errors, []);

  // The tracked events reach the server with the figures: the trigger's reach is counted.
  const [deposit] = s.created;
  const stats = await eventually(async () => {
    const st = await partner(api, s.project, "GET", `/external/offer/${deposit.id}/stats`);
    return st.triggered >= 3 && st;
  }, "the tracked events in the figures");
  // Valid calls only: 3 named deposit_failed (two unmet, one met); the bad ones were ignored.
  assert.equal(stats.triggered, 3);
  await s.context.close();
});

test("Offers.track right after setRoom triggers the new room's offer, and only there", async () => {
  const s = await setup([
    offerBody({ title: "Room two help", trigger: DEPOSIT, type: "ROOM", externalRoomIds: ["room-2"] }),
  ]);
  const { page, errors } = await open(s);
  await page.waitForFunction(() => typeof window.Offers?.track === "function");
  // In the same task as the switch, before the new room's feed can have arrived.
  await page.evaluate(() => {
    Offers.setRoom("room-2");
    Offers.track("deposit_failed", { amount: 50 });
  });
  assert.equal(await popupTitle(page), "Room two help");
  // A track waits for its own entry's feed only: one made in room 1 just before switching
  // back to room 2 is not replayed there.
  await page.locator(`${POPUP} .offer__close`).click();
  await page.locator(`${POPUP} .offer`).waitFor({ state: "detached", timeout: 5_000 });
  const roomTwoFeed = page.waitForResponse((r) => r.url().includes("/widget/v1/offers?") && r.url().includes("room=room-2"));
  await page.evaluate(() => {
    Offers.setRoom("room-1");
    Offers.track("deposit_failed", { amount: 50 });
    Offers.setRoom("room-2");
  });
  await (await roomTwoFeed).finished();
  await settled(page);
  assert.equal(await popupCount(page), 0, "room 1's track stayed in room 1");
  await page.evaluate(() => Offers.track("deposit_failed", { amount: 30 }));
  assert.equal(await popupTitle(page), "Room two help");
  assert.deepEqual(errors, []);
  await s.context.close();
});

test("the framing app's offers.track message triggers an offer; other senders do not", async () => {
  const s = await setup([
    offerBody({ title: "Deposit help", trigger: DEPOSIT }),
    offerBody({ title: "Sentinel", trigger: { event: "sentinel" } }),
  ], { parentOrigin: "http://parent.test" });
  const page = await s.context.newPage();
  await serveHtml(page, s.url, s.html);
  await serveHtml(page, "http://parent.test/", `<!doctype html><title>Chat app</title>
    <iframe src="${s.url}" width="800" height="600"></iframe>`);
  await page.goto("http://parent.test/");
  const frame = page.frames().find((f) => f.url() === s.url) ?? (await eventually(() => page.frames().find((f) => f.url() === s.url), "the frame"));
  await frame.waitForFunction(() => typeof window.Offers?.track === "function");
  // The host page posting to itself is not the framing app: ignored. Once the page's own
  // listener (registered after the widget's) saw it, the widget has too; then the sentinel.
  await frame.evaluate(() => new Promise((ok) => {
    addEventListener("message", () => ok());
    postMessage({ type: "offers.track", body: { name: "deposit_failed", props: { amount: 50 } } }, "*");
  }));
  await frame.evaluate(() => Offers.track("sentinel"));
  assert.equal(await popupTitle(page, "iframe"), "Sentinel");
  await page.frameLocator("iframe").locator(`${POPUP} .offer__close`).click();
  await page.frameLocator("iframe").locator(`${POPUP} .offer`).waitFor({ state: "detached", timeout: 5_000 });

  // From the parent at the configured origin: shown.
  await page.evaluate(() => document.querySelector("iframe").contentWindow.postMessage(
    { type: "offers.track", body: { name: "deposit_failed", props: { amount: 20 } } }, "*"));
  assert.equal(await popupTitle(page, "iframe"), "Deposit help");
  await s.context.close();
});

test("a cap of 1 pop-up per session holds across two tabs", async () => {
  const s = await setup([
    offerBody({ title: "First", priority: 5 }),
    offerBody({ title: "Second", priority: 1 }),
    // In-feed offers are not capped: their card says the entry's offers were scheduled.
    offerBody({ title: "In the feed", viewType: "IN_FEED" }),
  ], { caps: ["--cap-session", "1"], feed: true });
  const { page } = await open(s);
  // The higher priority goes first.
  assert.equal(await popupTitle(page), "First");
  await page.locator(`${POPUP} .offer__close`).click();
  await page.locator(`${POPUP} .offer`).waitFor({ state: "detached", timeout: 5_000 });
  await settled(page);
  assert.equal(await popupCount(page), 0, "the second pop-up is over the session's cap");

  const second = await open(s);
  await second.page.locator("#offers-feed .offer").waitFor({ timeout: 15_000 });
  await settled(second.page);
  assert.equal(await popupCount(second.page), 0, "the other tab shares the session and its cap");
  // The session mark and the pop-up log are shared through localStorage.
  const log = await second.page.evaluate(() =>
    Object.keys(localStorage).filter((k) => k.endsWith(":~popups")).map((k) => localStorage.getItem(k)));
  assert.equal(log.length, 1);
  assert.equal(log[0].trim().split("\n").length, 1, "one pop-up logged");
  await s.context.close();
});

test("the variant stays the same across a reload, and is the core's assignment", async () => {
  const variants = [
    { weight: 50, title: "Variant A" },
    { weight: 50, title: "Variant B", linkText: "Take B" },
  ];
  // An identified user: the server's assignment and the browser's agree.
  const s = await setup([offerBody({ title: "Original", variants })]);
  const [offer] = s.created;
  const expected = variants[assignment(offer.id, "user-1", [50, 50])].title;
  const { page } = await open(s);
  assert.equal(await popupTitle(page), expected);
  // The impressions carry the variant into the figures.
  const index = variants.findIndex((v) => v.title === expected);
  const impressions = (n) => eventually(async () => {
    const st = await partner(api, s.project, "GET", `/external/offer/${offer.id}/stats`);
    return (st.variants ?? []).find((v) => v.variant === index)?.impressions >= n;
  }, `${n} impressions of variant ${index}`);
  await impressions(1);
  await page.reload();
  assert.equal(await popupTitle(page), expected, "after a reload");
  await impressions(2);
  await s.context.close();

  // An anonymous visitor: the id kept in localStorage keeps the variant.
  const anon = await setup([offerBody({ title: "Original", variants })], { user: "" });
  const first = await open(anon);
  const title = await popupTitle(first.page);
  assert.ok(["Variant A", "Variant B"].includes(title), title);
  const visitor = await first.page.evaluate(() =>
    Object.entries(localStorage).find(([k]) => k.endsWith(":~visitor"))?.[1]);
  assert.ok(visitor, "an anonymous id is kept");
  assert.equal(title, variants[assignment(anon.created[0].id, visitor, [50, 50])].title);
  await first.page.reload();
  assert.equal(await popupTitle(first.page), title, "after a reload");
  await anon.context.close();
});

test("the holdout sees nothing and sends nothing", async () => {
  const s = await setup([]);
  const body = offerBody({ title: "Held out", holdoutPercent: 50 });
  const offer = (await partner(api, s.project, "POST", "/external/offer", body)).offer;
  const sentinel = (await partner(api, s.project, "POST", "/external/offer", offerBody({ title: "In the feed", viewType: "IN_FEED" }))).offer;
  let user = null;
  for (let i = 0; user === null; i++) {
    if (assignment(offer.id, `user-${i}`, [], 50) === "holdout") user = `user-${i}`;
  }
  const html = hostPage({ project: s.project, user, feed: true });
  const page = await s.context.newPage();
  const batches = [];
  page.on("request", (r) => {
    if (r.url().endsWith("/widget/v1/events")) batches.push(JSON.parse(r.postData()));
  });
  await serveHtml(page, s.url, html);
  await page.goto(s.url);
  await page.locator("#offers-feed .offer").waitFor({ timeout: 15_000 });
  await settled(page);
  assert.equal(await popupCount(page), 0, "nothing of the held-out offer");
  // The sentinel's impression goes out; nothing of the held-out offer goes with it.
  await eventually(() => batches.some((b) => b.events.some((e) => e.offerId === sentinel.id)), "the sentinel's impression");
  assert.ok(batches.every((b) => b.events.every((e) => e.offerId !== offer.id)));
  await s.context.close();
});
