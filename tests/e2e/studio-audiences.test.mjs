// The Studio's audience tools (issue 11, SPEC §7): a rule segment built with the server's live
// count and saved, a list segment from a CSV file, an offer with a name, tags, a merge tag, a
// German translation and a segment, published, sent as a test, previewed as given users (in
// their language, or with the reason it would not show), duplicated and found by tag and
// status; profiles found, listed and uploaded from CSV with the rejected lines shown.
// Real API binary, real Chromium; screenshots land in test-artifacts/studio-audiences-*.png.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ARTIFACTS, createProject, launchBrowser, partner, startApi } from "./support.mjs";

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

const WAIT = { timeout: 15_000 };

async function openStudio(project) {
  const context = await browser.newContext({ viewport: { width: 1360, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${api.base}/studio/`);
  await page.locator("#title").waitFor(WAIT);
  await page.fill("#api-key", project.apiKey);
  await page.fill("#token", project.token);
  await page.click("#sign-in");
  await page.locator("#signed-in").waitFor(WAIT);
  return { context, page, errors };
}

async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `studio-audiences-${name}.png`), fullPage: true });
}

const field = (page, key) => page.locator(`[data-field="${key}"]`);

async function expectReason(page, key, text, ok) {
  const f = field(page, key);
  await f.locator(".field__reason", { hasText: text }).waitFor({ timeout: 5_000 });
  assert.match(await f.getAttribute("class"), ok ? /field--ok/ : /field--bad/, `${key} class`);
}

function file(name, text) {
  const path = join(mkdtempSync(join(tmpdir(), "offers-aud-")), name);
  writeFileSync(path, text);
  return path;
}

async function seedProfiles(project) {
  await partner(api, project, "PUT", "/external/user/ana", {
    language: "de", tags: ["vip"], attributes: { firstName: "Ana", points: 1200 },
  });
  await partner(api, project, "PUT", "/external/user/bob", {
    language: "en", tags: [], attributes: { firstName: "Bob", points: 10 },
  });
  await partner(api, project, "PUT", "/external/user/carl", {
    language: "de", tags: ["vip"], attributes: { points: 500 },
  });
}

const row = (page, i) => page.locator(`.rule[data-row="${i}"]`);

test("segments: a rule segment with the live count and field errors, saved; a list segment from CSV", async () => {
  const project = createProject(api, "studio-segments");
  await seedProfiles(project);
  const { context, page, errors } = await openStudio(project);

  await page.fill("#segment-name", "German VIPs");
  await row(page, 0).locator(".rule__field").selectOption("language");
  await row(page, 0).locator(".rule__op").selectOption("eq");
  await row(page, 0).locator(".rule__value").fill("de");
  await page.locator("#segment-count", { hasText: "2 users match now." }).waitFor(WAIT);

  // A second row with a text for a numeric operator: the server's error shows at that row.
  await page.click("#segment-add-row");
  await row(page, 1).locator(".rule__field").selectOption("attribute");
  await row(page, 1).locator(".rule__key").fill("points");
  await row(page, 1).locator(".rule__op").selectOption("gte");
  await row(page, 1).locator(".rule__value").fill("lots");
  await row(page, 1).locator(".rule__errors li", { hasText: "value: gte needs a number" }).waitFor(WAIT);
  assert.equal(await row(page, 0).locator(".rule__errors li").count(), 0);
  await shot(page, "rule-error");
  await row(page, 1).locator(".rule__value").fill("1000");
  await page.locator("#segment-count", { hasText: "1 user match now." }).waitFor(WAIT);
  assert.equal(await row(page, 1).locator(".rule__errors li").count(), 0);
  // any: either condition.
  await page.selectOption("#segment-match", "any");
  await page.locator("#segment-count", { hasText: "2 users match now." }).waitFor(WAIT);
  await page.selectOption("#segment-match", "all");
  await page.locator("#segment-count", { hasText: "1 user match now." }).waitFor(WAIT);

  await page.click("#segment-save");
  const saved = page.locator(".segment-editor__notice", { hasText: "Saved segment #" });
  await saved.waitFor(WAIT);
  const id = Number((await saved.textContent()).match(/#(\d+)/)[1]);
  const item = page.locator(`.segment[data-segment-id="${id}"]`);
  await item.locator(".segment__users", { hasText: "1 user" }).waitFor(WAIT);
  const stored = await partner(api, project, "GET", `/external/segment/${id}`);
  assert.equal(stored.name, "German VIPs");
  assert.equal(stored.match, "all");
  assert.deepEqual(stored.conditions, [
    { field: "language", op: "eq", value: "de" },
    { field: "attributes.points", op: "gte", value: 1000 },
  ]);
  await shot(page, "rule-saved");

  // Edit it: the rows come back; saving is a PATCH of the same segment.
  await page.click("#segment-new");
  assert.equal(await page.locator("#segment-name").inputValue(), "");
  await item.locator(".segment__edit").click();
  assert.equal(await page.locator("#segment-name").inputValue(), "German VIPs");
  assert.equal(await row(page, 1).locator(".rule__value").inputValue(), "1000");
  await page.fill("#segment-name", "German big VIPs");
  await page.click("#segment-save");
  await page.locator(".segment-editor__notice", { hasText: `Saved segment #${id} “German big VIPs”.` }).waitFor(WAIT);
  assert.equal((await partner(api, project, "GET", "/external/segment")).length, 1);

  // A list segment from a CSV file (seed 001's rules, read in the browser by the core).
  await page.click("#segment-new");
  await page.check("#segment-kind-list");
  await page.fill("#segment-name", "Testers");
  await page.setInputFiles("#segment-csv", file("testers.csv", "user_id\r\nbob\r\n\"carl\"\r\nbob\r\n"));
  await page.locator(".csv-report__summary", { hasText: "testers.csv: 2 user ids loaded, 1 duplicate removed." }).waitFor(WAIT);
  assert.equal(await page.locator("#segment-ids").inputValue(), "bob, carl");
  await page.locator("#segment-count", { hasText: "2 users match now." }).waitFor(WAIT);
  await page.click("#segment-save");
  const list = page.locator(".segment-editor__notice", { hasText: "Saved segment #" });
  await list.waitFor(WAIT);
  const listId = Number((await list.textContent()).match(/#(\d+)/)[1]);
  await page.locator(`.segment[data-segment-id="${listId}"] .segment__users`, { hasText: "2 users" }).waitFor(WAIT);
  assert.deepEqual((await partner(api, project, "GET", `/external/segment/${listId}`)).userIds, ["bob", "carl"]);
  await shot(page, "list-saved");

  // Deleting an unused segment works.
  await page.locator(`.segment[data-segment-id="${listId}"] .segment__delete`).click();
  await page.locator(".segment-editor__notice", { hasText: `Deleted segment #${listId}.` }).waitFor(WAIT);
  await page.locator(`.segment[data-segment-id="${listId}"]`).waitFor({ state: "detached", timeout: 5_000 });
  assert.deepEqual(errors, []);
  await context.close();
});

test("an offer with a name, tags, a merge tag, a German translation and a segment: published, tested, previewed, duplicated, filtered", async () => {
  const project = createProject(api, "studio-audience-offer");
  await seedProfiles(project);
  const segment = await partner(api, project, "POST", "/external/segment", {
    name: "VIPs", match: "all", conditions: [{ field: "tag", op: "eq", value: "vip" }],
  });
  const { context, page, errors } = await openStudio(project);

  // Content: name, tags, merge tags from the menu, a German translation.
  await page.fill("#name", "Spring VIP bonus");
  await page.fill("#tags", "spring, vip");
  await page.fill("#title", "Hi ");
  await page.locator("#title").focus();
  await page.locator("#title").press("End");
  await page.selectOption("#title-merge", "{{firstName|there}}");
  assert.equal(await page.locator("#title").inputValue(), "Hi {{firstName|there}}");
  await expectReason(page, "title", "ok", true);
  // The counter counts as the core does: a tag at its fallback's length ("Hi there").
  assert.equal(await page.locator("#title-count").textContent(), "15 characters left");
  await page.fill("#text", "You have  points.");
  await page.locator("#text").evaluate((el) => el.setSelectionRange(9, 9));
  await page.selectOption("#text-merge", "{{attributes.points|0}}");
  assert.equal(await page.locator("#text").inputValue(), "You have {{attributes.points|0}} points.");

  await page.fill("#translation-language", "de");
  await page.click("#add-translation");
  await page.locator('.translations__tab[data-language="de"]').waitFor(WAIT);
  await page.fill("#translations-de-title", "Ein viel zu langer Titel hier");
  await expectReason(page, "translations.de.title", "at most 23 characters", false);
  await page.locator('.translations__tab[data-language="de"]', { hasText: "1 to fix" }).waitFor(WAIT);
  await page.locator("#tab-content .steps__state", { hasText: "1 to fix" }).waitFor(WAIT);
  await page.fill("#translations-de-title", "Hallo ");
  await page.selectOption("#translations-de-title-merge", "{{firstName|there}}");
  assert.equal(await page.locator("#translations-de-title").inputValue(), "Hallo {{firstName|there}}");
  await page.fill("#translations-de-title", "Hallo {{firstName|du}}");
  await expectReason(page, "translations.de.title", "ok", true);
  await page.fill("#translations-de-linkText", "Los");
  // A language tag the core refuses is named at its tab; removing it clears the error.
  await page.fill("#translation-language", "not a language");
  await page.click("#add-translation");
  await page.locator(".translations__tag-error").waitFor(WAIT);
  await page.click(".translations__remove");
  await page.locator(".translations__tag-error").waitFor({ state: "detached", timeout: 5_000 });
  await page.click('.translations__tab[data-language="de"]');
  assert.equal(await page.locator("#translations-de-linkText").inputValue(), "Los");
  await shot(page, "translation");

  // Audience: the segment, picked from the project's segments.
  await page.click("#tab-audience");
  await page.check(`#segmentIds-pick-${segment.id}`);
  assert.equal(await page.locator("#segmentIds").inputValue(), String(segment.id));
  await expectReason(page, "segmentIds", "ok", true);
  await page.fill("#excludeSegmentIds", "abc");
  await expectReason(page, "excludeSegmentIds", "must be a positive integer", false);
  await page.fill("#excludeSegmentIds", "");

  // Preview as users: the core's personalization with their stored profile and language.
  await page.fill("#preview-user", "ana");
  await page.click("#preview-as-btn");
  await page.locator("#preview .offer__title", { hasText: "Hallo Ana" }).waitFor(WAIT);
  await page.locator("#preview .offer__text", { hasText: "You have 1200 points." }).waitFor(WAIT);
  await page.locator(".preview-as__who", { hasText: "as ana sees it (de)" }).waitFor(WAIT);
  await page.fill("#preview-user", "bob");
  await page.click("#preview-as-btn");
  await page.locator("#preview .offer__title", { hasText: "Hi Bob" }).waitFor(WAIT);
  await page.locator("#preview .offer__text", { hasText: "You have 10 points." }).waitFor(WAIT);
  // A merge tag without a fallback that this user lacks: why it would not show.
  await page.click("#tab-content");
  await page.fill("#text", "Thanks, {{nickname}}!");
  await page.locator(".preview-as__verdict", { hasText: "Not shown to bob: merge tag {{nickname}} has no value for this user and no fallback" }).waitFor(WAIT);
  await page.locator("#preview .chat-mock__empty", { hasText: "Not shown to bob" }).waitFor(WAIT);
  await shot(page, "preview-missing");
  await page.fill("#text", "You have {{attributes.points|0}} points.");
  await page.click("#preview-as-clear");
  await page.locator("#preview .offer__title", { hasText: "Hi {{firstName|there}}" }).waitFor(WAIT);

  // Publish.
  await page.click("#tab-send");
  await page.locator(".problems", { hasText: "Every field is valid." }).waitFor(WAIT);
  assert.equal(await page.locator("#test-send-btn").isDisabled(), true);
  await page.click("#send");
  const done = page.locator(".save-result__done", { hasText: "Published offer #" });
  await done.waitFor(WAIT);
  const id = Number((await done.textContent()).match(/#(\d+)/)[1]);
  const offer = await partner(api, project, "GET", `/external/offer/${id}`);
  assert.equal(offer.name, "Spring VIP bonus");
  assert.deepEqual(offer.tags, ["spring", "vip"]);
  assert.deepEqual(offer.segmentIds, [segment.id]);
  assert.deepEqual(offer.excludeSegmentIds, []);
  assert.equal(offer.title, "Hi {{firstName|there}}");
  assert.deepEqual(offer.translations, { de: { title: "Hallo {{firstName|du}}", linkText: "Los" } });

  // Send test: the API's answer, then its error for a user id it refuses.
  await page.fill("#test-user", "ana");
  await page.click("#test-send-btn");
  await page.locator(".test-send__result .ok-text", { hasText: `Sent offer #${id} to ana as a test` }).waitFor(WAIT);
  await page.fill("#test-user", "x".repeat(200));
  await page.click("#test-send-btn");
  await page.locator(".test-send__result .error").waitFor(WAIT);
  await shot(page, "test-sent");

  // The list: name and targeting shown; filtered by tag and by status.
  const listed = page.locator(`[data-published-id="${id}"]`);
  await listed.locator(".pub__title", { hasText: "Spring VIP bonus" }).waitFor(WAIT);
  await listed.locator(".pub__targeting", { hasText: `tags: spring, vip · in segments #${segment.id} · translated: de` }).waitFor(WAIT);
  await page.fill("#filter-tag", "nothing-has-this");
  await page.click("#filter-apply");
  await page.locator(".published", { hasText: "No offers match the filter." }).waitFor(WAIT);
  await page.fill("#filter-tag", "spring");
  await page.click("#filter-apply");
  await listed.waitFor(WAIT);
  await page.selectOption("#filter-status", "ended");
  await listed.waitFor({ state: "detached", timeout: 5_000 });
  await page.selectOption("#filter-status", "live");
  await listed.waitFor(WAIT);

  // Duplicate: a new offer with the same content.
  await listed.locator(".pub__duplicate").click();
  await page.locator("#step-content-heading").waitFor(WAIT);
  assert.equal(await page.locator("#name").inputValue(), "Spring VIP bonus (copy)");
  assert.equal(await page.locator("#translations-de-title").inputValue(), "Hallo {{firstName|du}}");
  assert.equal(await page.locator(".editing").count(), 0);
  await page.click("#tab-send");
  await page.locator("#send", { hasText: /^Send$/ }).waitFor(WAIT);
  await page.click("#send");
  await page.locator(".save-result__done", { hasText: "Published offer #" }).waitFor(WAIT);
  assert.equal((await partner(api, project, "GET", "/external/offer?tag=spring")).length, 2);

  // The segment is in use: deleting it is refused with the offers named.
  await page.locator(`.segment[data-segment-id="${segment.id}"] .segment__delete`).click();
  await page.locator(".segment-editor__notice .error", { hasText: `offer ${id}` }).waitFor(WAIT);
  await shot(page, "segment-in-use");
  assert.deepEqual(errors, []);
  await context.close();
});

test("profiles: find by id, list by tag, CSV upload with the rejected lines", async () => {
  const project = createProject(api, "studio-profiles");
  await seedProfiles(project);
  const { context, page, errors } = await openStudio(project);

  await page.fill("#profile-id", "ana");
  await page.click("#profile-find");
  const card = page.locator('.profiles__found .profile[data-profile-id="ana"]');
  await card.waitFor(WAIT);
  assert.equal(await card.locator(".profile__language").textContent(), "de");
  assert.equal(await card.locator(".profile__tags").textContent(), "vip");
  assert.match(await card.locator(".profile__attributes").textContent(), /firstName = Ana.*points = 1200/);
  await page.fill("#profile-id", "nobody");
  await page.click("#profile-find");
  await page.locator(".profiles__found", { hasText: "No profile stored for nobody." }).waitFor(WAIT);

  await page.fill("#profile-tag", "vip");
  await page.click("#profile-list");
  await page.locator("#profiles-page-label", { hasText: "1–2 of 2 profiles" }).waitFor(WAIT);
  assert.equal(await page.locator("#profiles-next").isDisabled(), true);
  await page.locator(".profiles__list button", { hasText: "carl" }).click();
  await page.locator('.profiles__found .profile[data-profile-id="carl"]').waitFor(WAIT);

  const csv = "id,language,tags,firstName,points\nc1,de,vip|gold,Cleo,1200\nc2,??,,Bo,7\nc3,en,,Cy,3\n";
  await page.setInputFiles("#profiles-file", file("people.csv", csv));
  await page.locator("#profiles-result .ok-text", { hasText: "people.csv: 2 profiles stored, 1 line rejected." }).waitFor(WAIT);
  const rejected = page.locator('#profiles-result .profiles__rejected li[data-line="3"]');
  await rejected.waitFor(WAIT);
  assert.match(await rejected.textContent(), /^Line 3: .*language/);
  assert.equal((await partner(api, project, "GET", "/external/user/c1")).attributes.firstName, "Cleo");
  await shot(page, "profiles-upload");

  // JSON works too.
  await page.setInputFiles("#profiles-file", file("people.json", JSON.stringify([
    { id: "j1", tags: ["vip"] }, { id: "j2", attributes: { points: { deep: 1 } } },
  ])));
  await page.locator("#profiles-result .ok-text", { hasText: "people.json: 1 profile stored, 1 line rejected." }).waitFor(WAIT);
  await page.locator('#profiles-result .profiles__rejected li[data-line="2"]', { hasText: "points" }).waitFor(WAIT);

  // A longer list is paged, 20 at a time, keeping the tag it was listed with.
  const many = ["id,tags", ...Array.from({ length: 25 }, (_, i) => `m${String(i).padStart(2, "0")},many`)].join("\n");
  await page.setInputFiles("#profiles-file", file("many.csv", many));
  await page.locator("#profiles-result .ok-text", { hasText: "many.csv: 25 profiles stored" }).waitFor(WAIT);
  await page.fill("#profile-tag", "many");
  await page.click("#profile-list");
  await page.locator("#profiles-page-label", { hasText: "1–20 of 25 profiles" }).waitFor(WAIT);
  assert.equal(await page.locator(".profiles__list li").count(), 20);
  assert.equal(await page.locator("#profiles-previous").isDisabled(), true);
  await page.fill("#profile-tag", "vip");
  await page.click("#profiles-next");
  await page.locator("#profiles-page-label", { hasText: "21–25 of 25 profiles" }).waitFor(WAIT);
  assert.equal(await page.locator(".profiles__list li").count(), 5);
  assert.equal(await page.locator("#profiles-next").isDisabled(), true);
  await page.click("#profiles-previous");
  await page.locator("#profiles-page-label", { hasText: "1–20 of 25 profiles" }).waitFor(WAIT);
  assert.deepEqual(errors, []);
  await context.close();
});
