// The Studio as designers and marketers use it: sign in with a project key and token, build an
// offer with live validation and preview, load a CSV audience, publish, see it listed and served
// by the widget, edit, export, keep a local draft across reloads, and delete. Real API binary,
// real Chromium; screenshots of each state land in test-artifacts/studio-*.png.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  API_BIN, ARTIFACTS, POPUP, createProject, hostPage, launchBrowser, partner, serveHtml, serveImages,
  startApi,
} from "./support.mjs";

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

/** A fresh Studio page in a fresh browser context (empty storage), recording page errors. */
async function openStudio(viewport = { width: 1360, height: 1000 }) {
  const context = await browser.newContext({ viewport });
  await serveImages(context);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${api.base}/studio/`);
  await page.locator("#title").waitFor(WAIT);
  return { context, page, errors };
}

async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `studio-${name}.png`), fullPage: true });
}

async function signIn(page, project, token = project.token) {
  await page.fill("#api-key", project.apiKey);
  await page.fill("#token", token);
  await page.click("#sign-in");
}

/** The field wrapper of a wire key, e.g. `title` or `templateData.bgColor`. */
const field = (page, key) => page.locator(`[data-field="${key}"]`);

async function expectReason(page, key, text, ok) {
  const f = field(page, key);
  await f.locator(".field__reason", { hasText: text }).waitFor({ timeout: 5_000 });
  assert.match(await f.getAttribute("class"), ok ? /field--ok/ : /field--bad/, `${key} class`);
}

/** Waits until the element with `id` has the keyboard focus. */
async function focused(page, id) {
  await page.waitForFunction((want) => document.activeElement?.id === want, id, { timeout: 5_000 });
}

function csvFile(lines) {
  const dir = mkdtempSync(join(tmpdir(), "offers-csv-"));
  const path = join(dir, "audience.csv");
  writeFileSync(path, lines.join("\r\n") + "\r\n");
  return path;
}

test("sign in, build, publish, see it live, edit, export, keep a draft, delete", async () => {
  const project = createProject(api, "studio-e2e");
  const { context, page, errors } = await openStudio();

  // Signed out the form and preview already work; publishing asks to sign in.
  await page.click("#tab-send");
  assert.equal(await page.locator("#send").isDisabled(), true);
  await page.click("#tab-content");

  // A wrong token: clear error text, still signed out.
  await signIn(page, project, "ofr.not-a-real-token");
  await page.locator("#signin-status", { hasText: "401" }).waitFor(WAIT);
  await shot(page, "signin-error");
  await signIn(page, project);
  await page.locator("#signed-in").waitFor(WAIT);
  assert.equal(await page.locator("#signin-status").textContent(), "");
  // The token is kept for this tab only (sessionStorage), never in localStorage.
  const stored = await page.evaluate(() => ({ session: JSON.stringify({ ...sessionStorage }), local: JSON.stringify({ ...localStorage }) }));
  assert.ok(stored.session.includes(project.token));
  assert.ok(!stored.local.includes(project.token) && !stored.local.includes(project.apiKey));

  // Content: a title too long is red with the core's reason, then green once fixed.
  await page.fill("#title", "This title is far too long to fit");
  await expectReason(page, "title", "at most 23 characters (got 33)", false);
  assert.equal(await page.locator("#title").getAttribute("aria-invalid"), "true");
  assert.match(await page.locator("#title").getAttribute("aria-describedby"), /title-reason/);
  await page.locator("#tab-content .steps__state", { hasText: "1 to fix" }).waitFor(WAIT);
  await shot(page, "title-invalid");
  await page.fill("#title", "Studio e2e offer");
  await expectReason(page, "title", "ok", true);
  assert.equal(await page.locator("#title-count").textContent(), "7 characters left");
  // The preview is the widget's own card, updated live.
  await page.locator("#preview .offer__title", { hasText: "Studio e2e offer" }).waitFor(WAIT);

  // Colors: the text and the picker stay in sync; a bad color is red.
  await page.fill("#templateData-bgColor", "#123456");
  assert.equal(await page.locator("#templateData-bgColor-picker").inputValue(), "#123456");
  await page.locator("#templateData-btnColor-picker").fill("#ff8800");
  assert.equal(await page.locator("#templateData-btnColor").inputValue(), "#ff8800");
  await page.fill("#templateData-textColor", "url(evil)");
  await expectReason(page, "templateData.textColor", "must be a CSS color", false);
  await page.fill("#templateData-textColor", "white");
  await expectReason(page, "templateData.textColor", "ok", true);
  const bg = await page.locator("#preview .offer").evaluate((el) => el.style.getPropertyValue("--offer-bg"));
  assert.equal(bg, "#123456");

  // Template, view and width switches.
  await page.selectOption("#template", "12");
  await expectReason(page, "pic", "required", false);
  await page.fill("#pic", "https://images.test/pic.svg");
  await expectReason(page, "pic", "ok", true);
  await page.locator("#preview .offer--t12").waitFor(WAIT);
  await page.click("#viewType-in-feed");
  await page.locator("#preview .chat-mock__feed .offer--in-feed").waitFor(WAIT);
  await page.click("#preview button:text-is('Desktop')");
  await page.locator("#preview [data-device=desktop]").waitFor(WAIT);
  await shot(page, "in-feed-desktop");
  await page.click("#preview button:text-is('Pop-up')");
  await page.click("#preview button:text-is('Phone')");
  await page.locator("#preview .chat-mock__layer .offer--popup").waitFor(WAIT);
  assert.equal(await page.locator("#viewType-popup").isChecked(), true);
  await shot(page, "content");

  // Schedule (keyboard: the step buttons and "Next" are plain buttons).
  await page.locator(".step__next:visible").focus();
  await page.keyboard.press("Enter");
  await page.locator("#step-schedule-heading").waitFor(WAIT);
  await focused(page, "step-schedule-heading");
  await page.check("#showMultipleTimes-true");
  await field(page, "showFrerquency").waitFor({ state: "visible" });
  await page.fill("#showDelayMS", "-1");
  await expectReason(page, "showDelayMS", "between 0 and 86400000", false);
  await page.fill("#showDelayMS", "0");
  await expectReason(page, "showDelayMS", "ok", true);
  await shot(page, "schedule");

  // Audience: users from a CSV file, read in the browser by the core's CSV rules.
  await page.click("#tab-audience");
  await page.check("#type-user");
  await expectReason(page, "externalUserIds", "required for type USER", false);
  const csv = csvFile(["user_id", "user-1", '"user-2"', "user-1", "a,b", ""]);
  await page.setInputFiles("#users-csv", csv);
  await page.locator(".csv-report__summary", { hasText: "audience.csv: 2 user ids loaded, 1 duplicate removed." }).waitFor(WAIT);
  assert.equal(await page.locator(".csv-report__header q").textContent(), "user_id");
  assert.equal(await page.locator(".csv-report__errors li").textContent(), "line 5: more than one column");
  assert.equal(await page.locator("#externalUserIds").inputValue(), "user-1, user-2");
  await expectReason(page, "externalUserIds", "ok", true);
  await shot(page, "audience-csv");

  // Send.
  await page.click("#tab-send");
  await page.locator(".problems", { hasText: "Every field is valid." }).waitFor(WAIT);
  await page.locator(".review", { hasText: "2 users: user-1, user-2" }).waitFor(WAIT);
  await page.click("#send");
  const done = page.locator(".save-result__done", { hasText: "Published offer #" });
  await done.waitFor(WAIT);
  const id = Number((await done.textContent()).match(/#(\d+)/)[1]);
  // No widget has entered as these users yet: the API reports them unavailable.
  await page.locator(".save-result__unavailable-users", { hasText: "user-1, user-2" }).waitFor(WAIT);
  await shot(page, "published");

  // Listed as live, and served by the partner API with the fields set in the Studio.
  const row = page.locator(`[data-published-id="${id}"]`);
  await row.locator(".badge", { hasText: "live" }).waitFor(WAIT);
  assert.equal(await row.locator(".pub__audience").textContent(), "2 users: user-1, user-2");
  assert.match(await row.locator(".pub__impressions").textContent(), /^(—|\d+)$/);
  const offer = await partner(api, project, "GET", `/external/offer/${id}`);
  assert.equal(offer.title, "Studio e2e offer");
  assert.equal(offer.template, 12);
  assert.equal(offer.pic, "https://images.test/pic.svg");
  assert.equal(offer.type, "USER");
  assert.deepEqual(offer.externalUserIds, ["user-1", "user-2"]);
  assert.equal(offer.showMultipleTimes, true);
  assert.equal(offer.viewType, "POPUP");
  const data = JSON.parse(offer.templateData);
  assert.equal(data.bgColor, "#123456");
  assert.equal(data.btnColor, "#ff8800");
  assert.equal(data.textColor, "white");
  assert.ok(Date.parse(offer.startTime) <= Date.now());

  // A host page with the widget shows it to user-1.
  const host = await browser.newContext();
  await serveImages(host);
  const hostTab = await host.newPage();
  const hostUrl = `${api.base}/host/studio.html`;
  await serveHtml(hostTab, hostUrl, hostPage({ project, user: "user-1" }));
  await hostTab.goto(hostUrl);
  const widgetTitle = hostTab.locator(`${POPUP} .offer__title`);
  await widgetTitle.waitFor(WAIT);
  assert.equal(await widgetTitle.textContent(), "Studio e2e offer");
  await hostTab.screenshot({ path: join(ARTIFACTS, "studio-widget-host.png") });
  await host.close();

  // Edit from the list: the form loads the offer and saves with PATCH.
  await page.click("#tab-content"); // move away, to see that Edit brings the form back
  await page.fill("#title", "Scratch");
  await row.locator(".pub__edit").click();
  await page.locator("#step-content-heading").waitFor(WAIT);
  assert.equal(await page.locator("#title").inputValue(), "Studio e2e offer");
  await page.locator(".editing", { hasText: `#${id}` }).waitFor(WAIT);
  await page.fill("#title", "Edited in Studio");
  await page.click("#tab-send");
  await page.locator("#send", { hasText: `Save changes to #${id}` }).waitFor(WAIT);
  await page.click("#send");
  await page.locator(".save-result__done", { hasText: `Saved the changes to offer #${id}.` }).waitFor(WAIT);
  assert.equal((await partner(api, project, "GET", `/external/offer/${id}`)).title, "Edited in Studio");
  await row.locator(".pub__title", { hasText: "Edited in Studio" }).waitFor(WAIT);
  await shot(page, "edited");

  // Export: the JSON body and curl, with placeholders instead of the key and token.
  await page.click(".export summary");
  const json = JSON.parse(await page.locator("#export-json").inputValue());
  assert.equal(json.title, "Edited in Studio");
  assert.deepEqual(json.externalUserIds, ["user-1", "user-2"]);
  const curl = await page.locator("#export-curl").inputValue();
  assert.match(curl, /^curl -X POST 'http:\/\/127\.0\.0\.1:\d+\/external\/offer'/);
  assert.ok(curl.includes("x-api-key: $OFFERS_API_KEY") && curl.includes("Bearer $OFFERS_TOKEN"));
  assert.ok(!curl.includes(project.apiKey) && !curl.includes(project.token));
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: api.base });
  await page.click("#copy-curl");
  await page.locator(".export [role=status]", { hasText: "Copied." }).waitFor(WAIT);
  await shot(page, "export");

  // The local draft survives a reload (and the sign-in, for this tab).
  await page.click("#tab-content");
  await page.fill("#title", "Unsaved draft");
  await page.fill("#text", "Typed, not sent.");
  await page.reload();
  await page.locator("#signed-in").waitFor(WAIT);
  assert.equal(await page.locator("#title").inputValue(), "Unsaved draft");
  assert.equal(await page.locator("#text").inputValue(), "Typed, not sent.");
  await page.locator(".editing", { hasText: `#${id}` }).waitFor(WAIT);

  // Delete, with a confirmation.
  await row.locator(".pub__delete").click();
  await row.locator(".pub__confirm", { hasText: `Delete live offer #${id}?` }).waitFor(WAIT);
  await shot(page, "delete-confirm");
  await row.locator(".pub__confirm-yes").click();
  await row.waitFor({ state: "detached", timeout: 15_000 });
  await assert.rejects(partner(api, project, "GET", `/external/offer/${id}`), /404/);
  // The form no longer edits the deleted offer.
  await page.locator(".editing").waitFor({ state: "detached", timeout: 5_000 });

  // Sign out.
  await page.click("#sign-out");
  await page.locator("#sign-in").waitFor(WAIT);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);

  assert.deepEqual(errors, []);
  await context.close();
});

test("a scheduled offer is listed as scheduled and can be withdrawn", async () => {
  const project = createProject(api, "studio-scheduled");
  const start = new Date(Date.now() + 86_400_000).toISOString();
  const { offer } = await partner(api, project, "POST", "/external/offer", {
    template: 10, title: "Tomorrow", text: "Soon.", linkText: "Go", link: "https://shop.test/",
    startTime: start, type: "ROOM", externalRoomIds: ["room-a", "room-b"],
  });
  const { context, page, errors } = await openStudio();
  await signIn(page, project);
  const row = page.locator(`[data-published-id="${offer.id}"]`);
  await row.locator(".badge", { hasText: "scheduled" }).waitFor(WAIT);
  assert.equal(await row.locator(".pub__audience").textContent(), "2 rooms: room-a, room-b");
  assert.match(await row.locator(".pub__period").textContent(), /→ no end$/);
  await row.locator(".pub__delete", { hasText: "Withdraw" }).click();
  await row.locator(".pub__confirm", { hasText: "Withdraw scheduled offer" }).waitFor(WAIT);
  await row.locator(".pub__confirm-yes").click();
  await row.waitFor({ state: "detached", timeout: 15_000 });
  assert.deepEqual(await partner(api, project, "GET", "/external/offer"), []);
  assert.deepEqual(errors, []);
  await context.close();
});

test("the published list pages through the offers, newest first", async () => {
  const project = createProject(api, "studio-pages");
  for (let i = 1; i <= 12; i++) {
    await partner(api, project, "POST", "/external/offer", {
      template: 10, title: `Offer ${i}`, text: "Text.", linkText: "Go", link: "https://shop.test/",
      startTime: "2024-01-01T00:00:00.000Z", endTime: "2024-02-01T00:00:00.000Z",
    });
  }
  const { context, page, errors } = await openStudio();
  await signIn(page, project);
  const titles = page.locator(".published__list .pub__title");
  await titles.first().waitFor(WAIT);
  assert.equal(await titles.count(), 10);
  assert.match(await titles.first().textContent(), /Offer 12$/);
  assert.equal(await page.locator(".published__list .badge--ended").count(), 10);
  await page.click(".published__pages button:text-is('Older')");
  await page.locator(".published__pages", { hasText: "Page 2" }).waitFor(WAIT);
  await page.locator(".published__list .pub__title", { hasText: "Offer 1" }).last().waitFor(WAIT);
  await page.waitForFunction(() => document.querySelectorAll(".published__list .pub").length === 2);
  assert.equal(await page.locator(".published__pages button:text-is('Older')").isDisabled(), true);
  await shot(page, "list-page-2");
  await page.click(".published__pages button:text-is('Newer')");
  await page.waitForFunction(() => document.querySelectorAll(".published__list .pub").length === 10);
  assert.deepEqual(errors, []);
  await context.close();
});

test("a viewer token signs in but may not publish; server field errors land on their fields", async () => {
  const project = createProject(api, "studio-roles");
  const viewer = execFileSync(API_BIN, ["token", "issue", "--project", String(project.id), "--role", "viewer", "--database-url", api.databaseUrl])
    .toString().trim();
  const { context, page, errors } = await openStudio({ width: 390, height: 900 });
  await signIn(page, project, viewer);
  await page.locator("#signed-in").waitFor(WAIT);
  await page.click("#tab-send");
  await page.click("#send");
  await page.locator(".send__error", { hasText: "Not allowed (403)" }).waitFor(WAIT);
  await shot(page, "viewer-403");

  // A 422 from the API (here simulated: the Studio runs the same validation, so it is rare)
  // marks the fields it names, until they are edited.
  await page.route("**/external/offer", (route) =>
    route.request().method() === "POST"
      ? route.fulfill({
          status: 422, contentType: "application/json",
          body: JSON.stringify({ error: { code: "invalid_offer", message: "invalid offer", fields: { title: "already used by the server" } } }),
        })
      : route.continue());
  await page.click("#send");
  await page.locator(".send__error", { hasText: "422" }).waitFor(WAIT);
  await page.locator("#problems", { hasText: "already used by the server" }).waitFor(WAIT);
  await page.locator("#problems button", { hasText: "Title" }).click();
  await focused(page, "title");
  await expectReason(page, "title", "already used by the server", false);
  await page.fill("#title", "Another title");
  await expectReason(page, "title", "ok", true);
  await shot(page, "phone-width");
  assert.deepEqual(errors, []);
  await context.close();
});
