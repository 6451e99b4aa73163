// Audiences as chat users see them (issue 11, SPEC §7): a German VIP sees the German,
// personalized offer and an English non-VIP does not; a user in an excluding segment sees
// nothing of that offer; a test send appears live in the user's open chat.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  POPUP, createProject, hostPage, launchBrowser, offerBody, partner, serveHtml, signUser, startApi,
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

/** Opens the chat as `user` and waits for the widget's first feed answer (and its stream). */
async function chatAs(project, user, options = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const url = `${api.base}/audiences/${++counter}.html`;
  await serveHtml(page, url, hostPage({ project, user, ...options }));
  const fed = page.waitForResponse((r) => r.url().includes("/widget/v1/offers") && r.status() === 200);
  const streaming = page.waitForRequest((r) => r.url().includes("/widget/v1/stream"));
  await page.goto(url);
  const feed = await (await fed).json();
  await streaming;
  await page.waitForFunction(() => document.querySelector("[data-offers-widget=popup]"), null, { timeout: 15_000 });
  return { context, page, feed };
}

async function segment(project, body) {
  return (await partner(api, project, "POST", "/external/segment", body)).id;
}

test("a German VIP sees the German personalized offer; an English non-VIP does not", async () => {
  const project = createProject(api, "audiences-vip");
  await partner(api, project, "PUT", "/external/user/ana", { language: "de", tags: ["vip"], attributes: { firstName: "Ana" } });
  await partner(api, project, "PUT", "/external/user/ed", { language: "en", attributes: { firstName: "Ed" } });
  const vips = await segment(project, {
    name: "German VIPs", match: "all",
    conditions: [{ field: "language", op: "eq", value: "de" }, { field: "tag", op: "eq", value: "vip" }],
  });
  await partner(api, project, "POST", "/external/offer", offerBody({
    title: "Hi {{firstName|there}}", text: "A bonus for you",
    segmentIds: [vips],
    translations: { de: { title: "Hallo {{firstName|du}}", text: "Ein Bonus für dich" } },
  }));

  const ana = await chatAs(project, "ana");
  const titles = ana.page.locator(`${POPUP} .offer__title`);
  await titles.filter({ hasText: "Hallo Ana" }).waitFor({ timeout: 5_000 });
  const text = await ana.page.locator(`${POPUP} .offer__text`).first().textContent();
  assert.equal(text, "Ein Bonus für dich");
  await ana.context.close();

  const ed = await chatAs(project, "ed");
  assert.deepEqual(ed.feed.offers, [], "the English non-VIP's feed holds nothing for them");
  assert.equal(await ed.page.locator(`${POPUP} .offer`).count(), 0, "and nothing shows");
  await ed.context.close();
});

test("an anonymous visitor gets the translation for data-lang, then for Offers.setLanguage", async () => {
  const project = createProject(api, "audiences-lang");
  await partner(api, project, "POST", "/external/offer", offerBody({
    title: "Hello {{firstName|there}}",
    translations: { de: { title: "Hallo {{firstName|du}}" }, fr: { title: "Bonjour" } },
  }));
  const visitor = await chatAs(project, "", { lang: "de-AT" });
  const title = visitor.page.locator(`${POPUP} .offer__title`);
  await title.filter({ hasText: "Hallo du" }).waitFor({ timeout: 5_000 });
  const refetched = visitor.page.waitForResponse((r) => r.url().includes("/widget/v1/offers") && r.url().includes("lang=fr"));
  await visitor.page.evaluate(() => window.Offers.setLanguage("fr"));
  await refetched;
  await title.filter({ hasText: "Bonjour" }).waitFor({ timeout: 5_000 });
  await visitor.context.close();
});

test("a user in an excluding segment sees nothing of that offer", async () => {
  const project = createProject(api, "audiences-exclude");
  await partner(api, project, "PUT", "/external/user/gone", { tags: ["churned"] });
  const churned = await segment(project, { name: "Churned", conditions: [{ field: "tag", op: "eq", value: "churned" }] });
  await partner(api, project, "POST", "/external/offer", offerBody({ title: "Welcome back", excludeSegmentIds: [churned] }));

  const gone = await chatAs(project, "gone");
  // The feed was answered (chatAs waited for it): the widget holds nothing to show.
  const body = await (await fetch(`${api.base}/widget/v1/offers?key=${project.publicKey}&room=room-1`)).json();
  assert.equal(body.offers.length, 1, "an anonymous visitor is in no segment: the offer is theirs");
  assert.equal(await gone.page.locator(`${POPUP} .offer`).count(), 0);
  await gone.context.close();

  const stays = await chatAs(project, "stays");
  await stays.page.locator(`${POPUP} .offer__title`, { hasText: "Welcome back" }).waitFor({ timeout: 5_000 });
  await stays.context.close();
});

test("a test send appears live in the user's open chat, and only theirs", async () => {
  const project = createProject(api, "audiences-test-send");
  const { offer } = await partner(api, project, "POST", "/external/offer", offerBody({
    title: "Not yet", startTime: new Date(Date.now() + 86_400_000 * 30).toISOString(),
  }));
  const qa = await chatAs(project, "qa");
  const other = await chatAs(project, "other");
  const card = qa.page.locator(`${POPUP} .offer__title`, { hasText: "Not yet" });
  assert.equal(await card.count(), 0, "scheduled a month ahead: not shown");
  const sent = Date.now();
  await partner(api, project, "POST", `/external/offer/${offer.id}/test`, { userId: "qa" });
  await card.waitFor({ timeout: 5_000 });
  const latency = Date.now() - sent;
  console.log(`# test send to on-screen: ${latency} ms`);
  assert.ok(latency < 2_000, `a test send shows within a second or so (${latency} ms)`);
  // The other user's chat refetched nothing for it.
  const otherBody = await (await fetch(`${api.base}/widget/v1/offers?key=${project.publicKey}&room=room-1&user=other&sig=${signUser(project, "other")}`)).json();
  assert.equal(otherBody.offers.length, 0);
  assert.equal(await other.page.locator(`${POPUP} .offer`).count(), 0);
  await qa.context.close();
  await other.context.close();
});
