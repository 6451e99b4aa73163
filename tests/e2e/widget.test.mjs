// The widget as a host page gets it: one script tag, pop-up and in-feed offers, clicks by
// postMessage, frequency kept locally, hostile hosts. Real API, real Chromium.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ARTIFACTS, POPUP, createProject, hostPage, launchBrowser, offerBody, partner, serveHtml,
  serveImages, signUser, startApi,
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

/** A fresh project with the given offers, and a fresh browser context (empty storage). */
async function setup(offers, options = {}) {
  const project = createProject(api, `e2e-${++counter}`);
  const created = [];
  for (const offer of offers) created.push((await partner(api, project, "POST", "/external/offer", offer)).offer);
  const context = await browser.newContext();
  await serveImages(context);
  const url = `${api.base}/host/${counter}.html`;
  const html = hostPage({ project, ...options });
  return { project, created, context, url, html };
}

async function openHost(setupResult, headers) {
  const page = await setupResult.context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await serveHtml(page, setupResult.url, setupResult.html, headers);
  await page.goto(setupResult.url);
  return { page, errors };
}

const GRADIENT = { alignment: "left", bgColor: "#222", btnColor: "#ffcc00", btnTextColor: "#000", textColor: "#fff",
  gradient: true, gradientFrom: "#60e753", gradientTo: "#1e3c72", gradientDirection: "135deg" };

test("every template renders (screenshots in test-artifacts/)", async () => {
  const templates = [
    offerBody({ template: 10, title: "Text offer" }),
    offerBody({ template: 11, title: undefined, text: undefined, linkText: undefined, pic: "https://images.test/banner.svg" }),
    offerBody({ template: 12, title: "Image above", pic: "https://images.test/pic.svg", templateData: GRADIENT }),
    offerBody({ template: 13, title: "Image beside", pic: "https://images.test/pic.svg" }),
    offerBody({ template: 14, title: "Image behind", pic: "https://images.test/pic.svg", templateData: { ...GRADIENT, alignment: "right" } }),
  ];
  for (const [i, body] of templates.entries()) {
    const s = await setup([body]);
    const { page, errors } = await openHost(s);
    const card = page.locator(`${POPUP} .offer--t${body.template}`);
    await card.waitFor({ timeout: 15_000 });
    if (body.pic) {
      const img = card.locator(".offer__pic");
      assert.equal(await img.getAttribute("alt"), body.title ?? "Offer");
      await page.waitForFunction(
        () => [...document.querySelector("[data-offers-widget=popup]").shadowRoot.querySelectorAll("img")].every((i) => i.complete && i.naturalWidth > 0),
      );
    }
    if (body.title) assert.equal(await card.locator(".offer__title").textContent(), body.title);
    await page.waitForTimeout(250); // let the entry animation finish for the screenshot
    await page.screenshot({ path: join(ARTIFACTS, `template-${body.template}.png`) });
    assert.deepEqual(errors, [], `template ${body.template}`);
    await s.context.close();
    void i;
  }
});

test("gradient and colors reach the card as CSS custom properties only", async () => {
  const s = await setup([offerBody({ templateData: GRADIENT })]);
  const { page } = await openHost(s);
  const card = page.locator(`${POPUP} .offer`);
  await card.waitFor({ timeout: 15_000 });
  const styles = await card.evaluate((el) => ({
    bg: el.style.getPropertyValue("--offer-bg"),
    image: getComputedStyle(el).backgroundImage,
    btn: getComputedStyle(el.querySelector(".offer__btn")).backgroundColor,
  }));
  assert.equal(styles.bg, "linear-gradient(135deg, #60e753, #1e3c72)");
  assert.match(styles.image, /^linear-gradient\(135deg, rgb\(96, 231, 83\), rgb\(30, 60, 114\)\)$/);
  assert.equal(styles.btn, "rgb(255, 204, 0)");
  await s.context.close();
});

test("a click in a framed chat posts exactly the documented payload to the parent", async () => {
  const s = await setup([offerBody({ link: "https://shop.test/deal?x=1" })], { parentOrigin: "http://parent.test" });
  const page = await s.context.newPage();
  await serveHtml(page, s.url, s.html);
  await serveHtml(page, "http://parent.test/", `<!doctype html><title>Chat app</title>
    <script>window.received = []; addEventListener("message", (e) => received.push({ origin: e.origin, data: e.data }));</script>
    <iframe src="${s.url}" width="800" height="600"></iframe>`);
  await page.goto("http://parent.test/");
  const frame = page.frameLocator("iframe");
  await frame.locator(`${POPUP} .offer__btn`).click({ timeout: 15_000 });
  await page.waitForFunction(() => window.received.some((m) => m.data && m.data.type === "link"));
  const received = await page.evaluate(() => window.received);
  const link = received.find((m) => m.data.type === "link");
  assert.deepEqual(link.data, { type: "link", body: { action: "open", data: { link: "https://shop.test/deal?x=1" } } });
  assert.equal(link.origin, api.base);
  // Impressions are posted too, as their own message type.
  assert.ok(received.some((m) => m.data.type === "offers.impression" && m.data.body.offerId === s.created[0].id));
  // The clicked pop-up is gone, and no new tab was opened.
  await frame.locator(`${POPUP} .offer`).waitFor({ state: "detached", timeout: 5_000 });
  assert.equal(s.context.pages().length, 1);
  await s.context.close();
});

test("a framed chat without a configured parent origin never posts to '*'", async () => {
  const s = await setup([offerBody()]);
  await s.context.route("https://shop.test/**", (r) => r.fulfill({ status: 200, contentType: "text/html", body: "shop" }));
  const page = await s.context.newPage();
  await serveHtml(page, s.url, s.html);
  await serveHtml(page, "http://parent.test/", `<!doctype html><script>window.received = []; addEventListener("message", (e) => received.push(e.data));</script><iframe src="${s.url}" width="800" height="600"></iframe>`);
  await page.goto("http://parent.test/");
  const tab = s.context.waitForEvent("page");
  await page.frameLocator("iframe").locator(`${POPUP} .offer__btn`).click({ timeout: 15_000 });
  await (await tab).waitForLoadState();
  assert.deepEqual(await page.evaluate(() => window.received), []);
  await s.context.close();
});

test("unframed, a click opens the link in a new tab without an opener", async () => {
  const s = await setup([offerBody({ link: "https://shop.test/landing" })]);
  await s.context.route("https://shop.test/**", (r) => r.fulfill({ status: 200, contentType: "text/html", body: "<title>shop</title>" }));
  const { page } = await openHost(s);
  const tab = s.context.waitForEvent("page");
  await page.locator(`${POPUP} .offer__btn`).click({ timeout: 15_000 });
  const opened = await tab;
  await opened.waitForLoadState();
  assert.equal(opened.url(), "https://shop.test/landing");
  assert.equal(await opened.evaluate(() => window.opener), null);
  await s.context.close();
});

test("the close button and Escape hide pop-ups, one at a time in order, without stealing focus", async () => {
  const s = await setup([
    offerBody({ title: "First", showDelayMS: 0 }),
    offerBody({ title: "Second", showDelayMS: 0 }),
  ]);
  const { page } = await openHost(s);
  await page.locator("#chat-input").focus();
  const title = page.locator(`${POPUP} .offer__title`);
  await title.waitFor({ timeout: 15_000 });
  assert.equal(await page.locator(`${POPUP} .offer`).count(), 1, "one pop-up at a time");
  const first = await title.textContent();
  assert.equal(await page.evaluate(() => document.activeElement.id), "chat-input", "focus stays in the chat");
  assert.equal(await page.locator(`${POPUP} .offer`).getAttribute("role"), "dialog");
  await page.keyboard.press("Escape");
  await page.waitForFunction((t) => {
    const el = document.querySelector("[data-offers-widget=popup]").shadowRoot.querySelector(".offer__title");
    return el && el.textContent !== t;
  }, first);
  await page.locator(`${POPUP} .offer__close`).click();
  await page.locator(`${POPUP} .offer`).waitFor({ state: "detached", timeout: 5_000 });
  await s.context.close();
});

test("in-feed offers render inline in the host's container", async () => {
  const s = await setup([offerBody({ title: "In the feed", viewType: "IN_FEED" })], { feed: true });
  const { page } = await openHost(s);
  const card = page.locator("#offers-feed .offer--in-feed");
  await card.waitFor({ timeout: 15_000 });
  assert.equal(await card.locator(".offer__title").textContent(), "In the feed");
  assert.equal(await page.locator(`${POPUP} .offer`).count(), 0);
  await page.screenshot({ path: join(ARTIFACTS, "in-feed.png") });
  await s.context.close();
});

async function shownAfterReload(page, wait = 1_500) {
  await page.reload();
  return page.locator(`${POPUP} .offer`).waitFor({ timeout: wait }).then(() => true, () => false);
}

test("frequency across reloads and tabs: ON_ENTRY, DAILY, once ever", async () => {
  const cases = [
    { name: "ON_ENTRY, multiple", body: { showMultipleTimes: true, showFrerquency: "ON_ENTRY" }, again: true },
    { name: "DAILY", body: { showMultipleTimes: true, showFrerquency: "DAILY" }, again: false },
    { name: "once ever", body: { showMultipleTimes: false, showFrerquency: "ON_ENTRY" }, again: false },
  ];
  for (const c of cases) {
    const s = await setup([offerBody(c.body)]);
    const { page } = await openHost(s);
    await page.locator(`${POPUP} .offer`).waitFor({ timeout: 15_000 });
    assert.equal(await shownAfterReload(page), c.again, `${c.name}: after a reload`);
    const second = await s.context.newPage();
    await serveHtml(second, s.url, s.html);
    await second.goto(s.url);
    const inSecondTab = await second.locator(`${POPUP} .offer`).waitFor({ timeout: 1_500 }).then(() => true, () => false);
    assert.equal(inSecondTab, c.again, `${c.name}: in a second tab`);
    await s.context.close();
  }
});

test("showDelayMS waits after entry", async () => {
  const s = await setup([offerBody({ showDelayMS: 1500 })]);
  const started = Date.now();
  const { page } = await openHost(s);
  await page.locator(`${POPUP} .offer`).waitFor({ timeout: 15_000 });
  assert.ok(Date.now() - started >= 1500, "not before its delay");
  await s.context.close();
});

test("a hostile host stylesheet does not change the widget", async () => {
  const hostile = `<style>* { all: unset !important; } div, button, p { display: none !important; color: red !important; background: lime !important; font-size: 40px !important; }
    [data-offers-widget] { transform: scale(0.1) !important; opacity: 0 !important; }</style>`;
  const plain = await setup([offerBody()]);
  const { page: plainPage } = await openHost(plain);
  const plainCard = plainPage.locator(`${POPUP} .offer`);
  await plainCard.waitFor({ timeout: 15_000 });
  const s = await setup([offerBody()], { extraHead: hostile });
  const { page } = await openHost(s);
  const card = page.locator(`${POPUP} .offer`);
  await card.waitFor({ timeout: 15_000 });
  await page.waitForTimeout(250);
  await plainPage.waitForTimeout(250);
  const look = (el) => {
    const cs = getComputedStyle(el);
    const btn = getComputedStyle(el.querySelector(".offer__btn"));
    const r = el.getBoundingClientRect();
    return { display: cs.display, bg: cs.backgroundColor, font: cs.fontSize, btn: btn.backgroundColor, w: r.width, h: r.height, visible: r.width > 0 };
  };
  assert.deepEqual(await card.evaluate(look), await plainCard.evaluate(look));
  assert.equal(await card.isVisible(), true);
  await page.screenshot({ path: join(ARTIFACTS, "hostile-host.png") });
  await plain.context.close();
  await s.context.close();
});

test("a host page with a strict Content-Security-Policy works", async () => {
  const s = await setup([offerBody({ templateData: GRADIENT })]);
  const page = await s.context.newPage();
  const violations = [];
  page.on("console", (m) => { if (/Content Security Policy|Refused/i.test(m.text())) violations.push(m.text()); });
  await serveHtml(page, s.url, s.html, {
    "content-security-policy": "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' https://images.test",
  });
  await page.goto(s.url);
  const card = page.locator(`${POPUP} .offer`);
  await card.waitFor({ timeout: 15_000 });
  const bg = await card.evaluate((el) => getComputedStyle(el).backgroundImage);
  assert.match(bg, /linear-gradient/);
  assert.deepEqual(violations, []);
  await s.context.close();
});

test("window.Offers: a room switch is a new entry, login and logout change the audience", async () => {
  const s = await setup([
    offerBody({ title: "Everywhere", showMultipleTimes: true, showFrerquency: "ON_ENTRY" }),
    offerBody({ title: "Room two only", type: "ROOM", externalRoomIds: ["room-2"] }),
    offerBody({ title: "For Alice", type: "USER", externalUserIds: ["alice"] }),
  ], { user: "" });
  const { page } = await openHost(s);
  // Closes pop-ups one by one with Escape and returns their titles, once none has come for 1 s.
  const titles = async () => {
    const seen = new Set();
    const deadline = Date.now() + 15_000;
    let quiet = 0;
    while (Date.now() < deadline) {
      const title = await page.evaluate(() => {
        const host = document.querySelector("[data-offers-widget=popup]");
        const t = host && host.shadowRoot && host.shadowRoot.querySelector(".offer__title");
        return t && t.textContent;
      });
      if (title) {
        seen.add(title);
        quiet = 0;
        await page.keyboard.press("Escape");
      } else if (seen.size && ++quiet > 10) {
        break;
      }
      await page.waitForTimeout(100);
    }
    return [...seen].sort();
  };
  assert.deepEqual(await titles(), ["Everywhere"]);
  await page.evaluate(() => window.Offers.setRoom("room-2"));
  assert.deepEqual(await titles(), ["Everywhere", "Room two only"], "a new entry in room-2");
  // New projects require a signed user id: the host back end's signature goes with the login.
  await page.evaluate((sig) => window.Offers.login("alice", sig), signUser(s.project, "alice"));
  assert.deepEqual(await titles(), ["Everywhere", "For Alice", "Room two only"]);
  await page.evaluate(() => window.Offers.logout());
  assert.deepEqual(await titles(), ["Everywhere", "Room two only"]);
  await s.context.close();
});

test("a host page on its own origin loads the widget from the API's origin", async () => {
  const s = await setup([offerBody({ title: "Cross-origin" })]);
  const page = await s.context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await serveHtml(page, "http://chat.test/room", hostPage({ project: s.project, widgetOrigin: api.base }));
  await page.goto("http://chat.test/room");
  await page.locator(`${POPUP} .offer__title`, { hasText: "Cross-origin" }).waitFor({ timeout: 15_000 });
  assert.deepEqual(errors, []);
  await s.context.close();
});

test("in a sandboxed frame where storage throws, the widget still works from memory", async () => {
  const s = await setup([offerBody({ title: "Sandboxed" })]);
  const page = await s.context.newPage();
  await serveHtml(page, s.url, s.html);
  await serveHtml(page, "http://parent.test/", `<!doctype html><iframe sandbox="allow-scripts allow-popups" src="${s.url}" width="800" height="600"></iframe>`);
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto("http://parent.test/");
  const frame = page.frameLocator("iframe");
  await frame.locator(`${POPUP} .offer__title`).waitFor({ timeout: 15_000 });
  const storageThrows = await page.frames()[1].evaluate(() => { try { localStorage.length; return false; } catch { return true; } });
  assert.equal(storageThrows, true, "the sandbox really blocks storage");
  await frame.locator(`${POPUP} .offer__close`).click();
  await frame.locator(`${POPUP} .offer`).waitFor({ state: "detached", timeout: 5_000 });
  assert.deepEqual(errors, []);
  await s.context.close();
});

test("an offer whose window closes while it is on screen disappears on time", async () => {
  const s = await setup([offerBody({ title: "Ends soon", endTime: new Date(Date.now() + 4_000).toISOString() })]);
  const { page } = await openHost(s);
  const card = page.locator(`${POPUP} .offer`);
  await card.waitFor({ timeout: 3_500 });
  await card.waitFor({ state: "detached", timeout: 6_000 });
  await s.context.close();
});

test("pop-ups respect prefers-reduced-motion and never shift the host's layout", async () => {
  const s = await setup([offerBody({ title: "Calm" })]);
  const page = await s.context.newPage();
  await page.emulateMedia({ reducedMotion: "reduce" });
  await serveHtml(page, s.url, s.html);
  await page.goto(s.url);
  const before = await page.evaluate(() => {
    const r = document.querySelector("#chat-input").getBoundingClientRect();
    return { x: r.x, y: r.y, scroll: document.documentElement.scrollHeight };
  });
  const layer = page.locator(`${POPUP} .layer`);
  await layer.waitFor({ timeout: 15_000 });
  assert.equal(await layer.evaluate((el) => getComputedStyle(el).animationName), "none");
  assert.equal(await layer.evaluate((el) => getComputedStyle(el).position), "fixed");
  const after = await page.evaluate(() => {
    const r = document.querySelector("#chat-input").getBoundingClientRect();
    return { x: r.x, y: r.y, scroll: document.documentElement.scrollHeight };
  });
  assert.deepEqual(after, before, "the host page did not move");
  await page.emulateMedia({ reducedMotion: "no-preference" });
  assert.equal(await layer.evaluate((el) => getComputedStyle(el).animationName), "offers-in");
  await s.context.close();
});
