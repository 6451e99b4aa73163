// The Studio as designers and marketers use it: sign in with a project key and token, build an
// offer with live validation and preview, upload an image, load a CSV audience, publish, see it
// listed and served by the widget, edit, export, keep the project's draft on the server across
// reloads and tabs, see an offer's figures per day, ask why an offer is (not) shown, and delete.
// Real API binary, real Chromium; screenshots of each state land in test-artifacts/studio-*.png.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { crc32, deflateSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  API_BIN, ARTIFACTS, POPUP, createProject, hostPage, launchBrowser, partner, serveHtml, serveImages, signUser,
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

  // The project's draft (kept by the API) survives a reload (and the sign-in, for this tab).
  await page.click("#tab-content");
  await page.fill("#title", "Unsaved draft");
  await page.fill("#text", "Typed, not sent.");
  await page.locator("#draft-status", { hasText: "Draft saved" }).waitFor(WAIT);
  await page.reload();
  await page.locator("#signed-in").waitFor(WAIT);
  await page.locator("#draft-status", { hasText: "Draft restored" }).waitFor(WAIT);
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

  // Drafts: one refused save, then the draft stays in this browser, without a retry per edit.
  let draftPuts = 0;
  page.on("request", (r) => { if (r.method() === "PUT" && r.url().endsWith("/external/draft")) draftPuts++; });
  await page.click("#tab-content");
  await page.fill("#title", "Viewer edit one");
  await page.locator("#draft-status", { hasText: "can read but not save drafts" }).waitFor(WAIT);
  await page.fill("#title", "Viewer edit two");
  await page.waitForTimeout(1_500); // longer than the save delay
  assert.equal(draftPuts, 1, "no retry after the 403");
  await page.click("#tab-send");

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

/** Posts widget events as the widget's beacon does (`text/plain`). */
async function postEvents(project, user, events) {
  const r = await fetch(`${api.base}/widget/v1/events`, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    // Signed like a host back end does: new projects count only signed users.
    body: JSON.stringify({ key: project.publicKey, room: "r1", user, sig: signUser(project, user), events }),
  });
  const text = await r.text();
  assert.equal(r.status, 202, text);
  const answer = JSON.parse(text);
  assert.equal(answer.accepted, events.length, JSON.stringify(answer));
}

test("figures: totals, a chart of impressions, clicks and conversions per day, and the CSV export", async () => {
  const project = createProject(api, "studio-figures");
  const { offer } = await partner(api, project, "POST", "/external/offer", {
    template: 10, title: "Counted", text: "Counted offer.", linkText: "Go", link: "https://shop.test/",
    startTime: new Date(Date.now() - 3 * 86_400_000).toISOString(),
  });
  const now = new Date();
  const at = now.toISOString();
  const yesterday = new Date(now.getTime() - 86_400_000).toISOString();
  const ev = (n, kind, when = at) => ({ id: `fig-${offer.id}-${kind}-${n}-${when}`, offerId: offer.id, kind, at: when });
  await postEvents(project, "u1", [ev(1, "impression"), ev(2, "impression"), ev(1, "click")]);
  await postEvents(project, "u2", [ev(3, "impression"), ev(1, "close"), ev(4, "impression", yesterday)]);
  // u1 converts after their click: attributed to the offer.
  const conversion = await partner(api, project, "POST", "/external/conversion", { id: `fig-conv-${offer.id}`, userId: "u1", name: "deposit", value: 20 });
  assert.equal(conversion.attributedOfferId, offer.id);

  const { context, page, errors } = await openStudio();
  const [today, before] = await page.evaluate(() => {
    const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
    return [iso(new Date()), iso(new Date(Date.now() - 86_400_000))];
  });
  await signIn(page, project);
  const row = page.locator(`[data-published-id="${offer.id}"]`);
  await row.locator(".pub__figures-btn").click();
  const panel = page.locator("#figures");
  await panel.locator("#figures-heading", { hasText: `#${offer.id} Counted` }).waitFor(WAIT);
  await focused(page, "figures-heading");
  await panel.locator(".figures__impressions", { hasText: "4" }).waitFor(WAIT);
  assert.equal(await panel.locator(".figures__users").textContent(), "2");
  assert.equal(await panel.locator(".figures__clicks").textContent(), "1");
  assert.equal(await panel.locator(".figures__closes").textContent(), "1");
  assert.equal(await panel.locator(".figures__ctr").textContent(), "25.0 %");
  assert.equal(await panel.locator(".figures__conversions").textContent(), "1");
  assert.equal(await panel.locator(".figures__conversion-value").textContent(), "20.00");

  // Seven days, today last; the hidden table and the tooltips carry each day's numbers.
  assert.equal(await panel.locator("#figures-table tbody tr").count(), 7);
  const todayRow = panel.locator(`#figures-table tr[data-date="${today}"]`);
  assert.equal(await todayRow.locator(".figures__day-impressions").textContent(), "3");
  assert.equal(await todayRow.locator(".figures__day-users").textContent(), "2");
  assert.equal(await todayRow.locator(".figures__day-clicks").textContent(), "1");
  assert.equal(await todayRow.locator(".figures__day-closes").textContent(), "1");
  assert.equal(await todayRow.locator(".figures__day-conversions").textContent(), "1");
  assert.equal(await panel.locator(`#figures-table tr[data-date="${before}"] .figures__day-impressions`).textContent(), "1");
  const tooltip = panel.locator(`svg.chart g[data-date="${today}"] title`);
  assert.equal(await tooltip.textContent(), `${today}: 3 impressions, 1 click, 1 conversion`);
  assert.equal(await tooltip.evaluate((el) => el.namespaceURI), "http://www.w3.org/2000/svg");
  // SVG elements (namespace), bars scaled: today's impressions bar is the tallest.
  const bars = await panel.locator("svg.chart .chart__bar--impressions").evaluateAll((els) =>
    els.map((el) => ({ ns: el.namespaceURI, h: Number(el.getAttribute("height")), date: el.parentNode.dataset.date })));
  assert.equal(bars.length, 7);
  assert.ok(bars.every((b) => b.ns === "http://www.w3.org/2000/svg"));
  const tallest = bars.reduce((a, b) => (b.h > a.h ? b : a));
  assert.equal(tallest.date, today);
  assert.equal(await panel.locator("svg.chart [style]").count(), 0, "no inline styles");
  assert.ok((await panel.locator(".chart__legend").textContent()).includes("Conversions"));
  await panel.screenshot({ path: join(ARTIFACTS, "studio-figures-7.png") });

  // The CSV export of these days: the API's rows, saved as a file.
  const [download] = await Promise.all([page.waitForEvent("download", WAIT), panel.locator(".figures__csv").click()]);
  assert.match(download.suggestedFilename(), new RegExp(`^offer-${offer.id}-\\d{4}-\\d{2}-\\d{2}-\\d{4}-\\d{2}-\\d{2}\\.csv$`));
  const csv = readFileSync(await download.path(), "utf8");
  const lines = csv.trim().split(/\r\n/);
  assert.equal(lines[0], "date,offerId,variant,impressions,clicks,closes,conversions,conversionValue");
  assert.ok(lines.includes(`${today},${offer.id},,3,1,1,1,20`), csv);

  // Thirty days.
  await panel.locator("button", { hasText: "Last 30 days" }).click();
  await page.waitForFunction(() => document.querySelectorAll("#figures-table tbody tr").length === 30);
  assert.equal(await panel.locator(".figures__impressions").textContent(), "4");
  assert.equal(await panel.locator("button[aria-pressed=true]", { hasText: "Last 30 days" }).count(), 1);
  await shot(page, "figures-30");
  await panel.locator("button", { hasText: "Close" }).click();
  await panel.waitFor({ state: "hidden" });
  assert.deepEqual(errors, []);
  await context.close();

  // Days are the designer's local days (utcOffset): at UTC−11 the same events fall on
  // other dates than in UTC, and today's row still holds today's events.
  const far = await browser.newContext({ viewport: { width: 1360, height: 1000 }, timezoneId: "Pacific/Pago_Pago" });
  const farPage = await far.newPage();
  await farPage.goto(`${api.base}/studio/`);
  const farToday = await farPage.evaluate(() => {
    const d = new Date();
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  });
  await signIn(farPage, project);
  await farPage.locator(`[data-published-id="${offer.id}"] .pub__figures-btn`).click();
  const farRow = farPage.locator(`#figures-table tr[data-date="${farToday}"]`);
  await farRow.waitFor({ state: "attached", timeout: 15_000 });
  assert.equal(await farRow.locator(".figures__day-impressions").textContent(), "3");
  assert.equal(await farRow.locator(".figures__day-clicks").textContent(), "1");
  await far.close();
});

/** A PNG of `width`×`height` (solid blue), written with zlib. */
function png(width, height) {
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  const row = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x++) row.set([0x3a, 0x7b, 0xd5], 1 + x * 3);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

test("image upload: the returned URL fills Image URL, with proportion warnings and clear errors", async () => {
  const project = createProject(api, "studio-upload");
  const { context, page, errors } = await openStudio();
  // Signed out, the upload is not offered.
  assert.equal(await page.locator("#pic-upload").isDisabled(), true);
  await page.locator("#pic-upload-help", { hasText: "Sign in to upload" }).waitFor(WAIT);
  await signIn(page, project);
  await page.locator("#signed-in").waitFor(WAIT);
  await page.selectOption("#template", "12");
  await expectReason(page, "pic", "required", false);

  // A square image for a 600×400 template: uploaded, with the proportions warning.
  await page.setInputFiles("#pic-upload", { name: "square.png", mimeType: "image/png", buffer: png(800, 800) });
  await page.locator("#pic-upload-status", { hasText: "Uploaded square.png: 800×800" }).waitFor(WAIT);
  const url = await page.locator("#pic").inputValue();
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/media\/[0-9a-f]{64}\.png$/);
  await expectReason(page, "pic", "ok", true);
  await page.locator(".upload__warnings li", { hasText: "the image is 800×800; template 12 expects 600×400 proportions" }).waitFor(WAIT);
  const served = await fetch(url);
  assert.equal(served.status, 200);
  assert.equal(served.headers.get("content-type"), "image/png");
  // The preview shows the uploaded image.
  await page.waitForFunction(() => {
    const img = document.querySelector("#preview .offer img");
    return img && img.complete && img.naturalWidth === 800;
  }, null, WAIT);
  await shot(page, "upload-warning");

  // The warning is about that image for that template: another template hides it.
  await page.selectOption("#template", "10");
  await page.locator(".upload__warnings li").waitFor({ state: "detached", timeout: 5_000 });
  await page.selectOption("#template", "12");
  await page.locator(".upload__warnings li").waitFor(WAIT);

  // Right proportions: no warning.
  await page.setInputFiles("#pic-upload", { name: "right.png", mimeType: "image/png", buffer: png(600, 400) });
  await page.locator("#pic-upload-status", { hasText: "Uploaded right.png: 600×400" }).waitFor(WAIT);
  assert.notEqual(await page.locator("#pic").inputValue(), url);
  assert.equal(await page.locator(".upload__warnings li").count(), 0);
  const picture = await page.locator("#pic").inputValue();

  // Not an image: refused in the browser at once.
  await page.setInputFiles("#pic-upload", { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello") });
  await page.locator("#pic-upload-error", { hasText: "notes.txt is not a PNG, JPEG, WebP or GIF image (it is text/plain)." }).waitFor(WAIT);
  assert.equal(await page.locator("#pic").inputValue(), picture);
  await shot(page, "upload-type-error");
  // Too large: refused in the browser too.
  await page.setInputFiles("#pic-upload", { name: "huge.png", mimeType: "image/png", buffer: Buffer.alloc(10 * 1024 * 1024 + 1) });
  await page.locator("#pic-upload-error", { hasText: "huge.png is over 10 MB" }).waitFor(WAIT);
  // Named like an image but not one: the server (415) says so, in its own words.
  await page.setInputFiles("#pic-upload", { name: "fake.png", mimeType: "image/png", buffer: Buffer.from("not really a png") });
  await page.locator("#pic-upload-error", { hasText: "fake.png was not uploaded:" }).waitFor(WAIT);
  assert.match(await page.locator("#pic-upload-error").textContent(), /PNG, JPEG, WebP or GIF/);
  assert.equal(await page.locator("#pic").inputValue(), picture);
  assert.deepEqual(errors, []);
  await context.close();
});

test("the project's draft: saved by the API, restored on reload, a conflict between tabs, cleared by Send", async () => {
  const project = createProject(api, "studio-draft");
  const a = await openStudio();
  await signIn(a.page, project);
  await a.page.locator("#draft-status", { hasText: "Edits are saved as the project's draft" }).waitFor(WAIT);
  await a.page.fill("#title", "Server draft");
  await a.page.fill("#text", "Kept by the API.");
  await a.page.locator("#draft-status", { hasText: "Unsaved changes" }).waitFor(WAIT);
  await a.page.locator("#draft-status", { hasText: /^Draft saved \d\d:\d\d$/ }).waitFor(WAIT);
  let saved = await partner(api, project, "GET", "/external/draft");
  assert.equal(saved.draft.title, "Server draft");
  assert.equal(saved.draft.text, "Kept by the API.");
  assert.equal(saved.draft.template, 10);
  assert.equal(saved.editing, null);
  // Signed in, nothing of it goes to localStorage.
  assert.ok(!(await a.page.evaluate(() => JSON.stringify({ ...localStorage }))).includes("Server draft"));
  await shot(a.page, "draft-saved");

  // A reload restores it from the API.
  await a.page.reload();
  await a.page.locator("#draft-status", { hasText: "Draft restored" }).waitFor(WAIT);
  assert.equal(await a.page.locator("#title").inputValue(), "Server draft");
  assert.equal(await a.page.locator("#text").inputValue(), "Kept by the API.");

  // A second tab (its own sign-in) gets the same draft and changes it.
  const b = await openStudio();
  await signIn(b.page, project);
  await b.page.locator("#draft-status", { hasText: "Draft restored" }).waitFor(WAIT);
  assert.equal(await b.page.locator("#title").inputValue(), "Server draft");
  await b.page.fill("#title", "Changed in tab B");
  await b.page.locator("#draft-status", { hasText: "Draft saved" }).waitFor(WAIT);

  // The first tab's next save meets 412: it offers the choice.
  await a.page.fill("#text", "Edited in tab A.");
  await a.page.locator("#draft-status", { hasText: "Not saved: the draft was changed elsewhere." }).waitFor(WAIT);
  await a.page.locator("#draft-reload").waitFor(WAIT);
  assert.equal((await partner(api, project, "GET", "/external/draft")).draft.title, "Changed in tab B");
  await shot(a.page, "draft-conflict");
  await a.page.click("#draft-reload");
  await a.page.locator("#draft-status", { hasText: "Draft restored" }).waitFor(WAIT);
  assert.equal(await a.page.locator("#title").inputValue(), "Changed in tab B");
  assert.equal(await a.page.locator("#text").inputValue(), "Kept by the API.");
  assert.equal(await a.page.locator("#draft-reload").count(), 0);

  // Again, and this time the first tab overwrites.
  await b.page.fill("#linkText", "From B");
  await b.page.locator("#draft-status", { hasText: "Draft saved" }).waitFor(WAIT);
  await a.page.fill("#text", "A wins.");
  await a.page.locator("#draft-overwrite").waitFor(WAIT);
  await a.page.click("#draft-overwrite");
  await a.page.locator("#draft-status", { hasText: "Draft saved" }).waitFor(WAIT);
  saved = await partner(api, project, "GET", "/external/draft");
  assert.equal(saved.draft.text, "A wins.");
  assert.equal(saved.draft.linkText, "Get the bonus");

  // Send publishes and clears the draft.
  await a.page.click("#tab-send");
  await a.page.click("#send");
  await a.page.locator(".save-result__done", { hasText: "Published offer #" }).waitFor(WAIT);
  await a.page.locator("#draft-status", { hasText: "Sent: the project's draft was cleared." }).waitFor(WAIT);
  await assert.rejects(partner(api, project, "GET", "/external/draft"), /404/);
  // The next edit starts a new draft, editing the sent offer.
  await a.page.click("#tab-content");
  await a.page.fill("#title", "Next version");
  await a.page.locator("#draft-status", { hasText: "Draft saved" }).waitFor(WAIT);
  saved = await partner(api, project, "GET", "/external/draft");
  assert.equal(saved.draft.title, "Next version");
  assert.equal(typeof saved.editing, "number");

  // Signed out, the draft is this browser's again (localStorage), and a reload restores it.
  await a.page.click("#sign-out");
  await a.page.locator("#draft-status", { hasText: "Signed out" }).waitFor(WAIT);
  await a.page.fill("#title", "Kept locally");
  await a.page.waitForFunction(() => JSON.stringify({ ...localStorage }).includes("Kept locally"));
  await a.page.reload();
  await a.page.locator("#sign-in").waitFor(WAIT);
  assert.equal(await a.page.locator("#title").inputValue(), "Kept locally");
  assert.equal((await partner(api, project, "GET", "/external/draft")).draft.title, "Next version");
  assert.deepEqual(a.errors, []);
  assert.deepEqual(b.errors, []);
  await a.context.close();
  await b.context.close();
});

test("why shown / why not: a room offer shows in its room, not in another, with each rule's reason", async () => {
  const project = createProject(api, "studio-explain");
  const { offer } = await partner(api, project, "POST", "/external/offer", {
    template: 10, title: "Room one only", text: "Only in room-1.", linkText: "Go", link: "https://shop.test/",
    startTime: new Date(Date.now() - 3_600_000).toISOString(), type: "ROOM", externalRoomIds: ["room-1"],
  });
  const { context, page, errors } = await openStudio();
  assert.equal(await page.locator("#explain-run").isDisabled(), true);
  await signIn(page, project);
  await page.locator("#signed-in").waitFor(WAIT);
  // The list's badge comes from the core's schedule status.
  await page.locator(`[data-published-id="${offer.id}"] .badge`, { hasText: "live" }).waitFor(WAIT);

  await page.fill("#explain-room", "room-1");
  await page.fill("#explain-user", "u1");
  await page.fill("#explain-lang", "de-AT");
  await page.click("#explain-run");
  const row = page.locator(`[data-explain-id="${offer.id}"]`);
  await row.locator(".explain__verdict", { hasText: "✓ shown" }).waitFor(WAIT);
  assert.match(await row.getAttribute("class"), /explain__offer--shown/);
  assert.equal(await row.locator(".explain__check").count(), 4);
  assert.equal(await row.locator(".explain__check--bad").count(), 0);
  assert.deepEqual(await row.locator(".explain__check").evaluateAll((els) => els.map((el) => el.dataset.rule)),
    ["schedule", "audience", "optOut", "frequency"]);
  await page.locator(".explain__summary", { hasText: "room room-1, user u1: 1 of 1 offer shown." }).waitFor(WAIT);
  await page.locator("#explain").screenshot({ path: join(ARTIFACTS, "studio-explain-shown.png") });

  await page.fill("#explain-room", "room-2");
  await page.click("#explain-run");
  await row.locator(".explain__verdict", { hasText: "✗ not shown" }).waitFor(WAIT);
  const audience = row.locator('.explain__check[data-rule="audience"]');
  assert.match(await audience.getAttribute("class"), /explain__check--bad/);
  assert.match(await audience.locator(".explain__detail").textContent(), /room `room-2` is not one of the offer's rooms \(`room-1`\)/);
  const color = await audience.evaluate((el) => getComputedStyle(el).color);
  assert.equal(color, "rgb(192, 47, 47)");
  assert.equal(await row.locator(".explain__check--bad").count(), 1);
  await page.locator("#explain").screenshot({ path: join(ARTIFACTS, "studio-explain-not-shown.png") });

  // At a time before the offer starts, the schedule fails too.
  const earlier = await page.evaluate(() => {
    const d = new Date(Date.now() - 86_400_000);
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  });
  await page.fill("#explain-at", earlier);
  await page.click("#explain-run");
  await row.locator('.explain__check--bad[data-rule="schedule"]').waitFor(WAIT);
  assert.match(await row.locator('[data-rule="schedule"] .explain__detail').textContent(), /^scheduled: starts/);
  // An empty room is asked for before any request.
  await page.fill("#explain-room", " ");
  await page.click("#explain-run");
  await page.locator("#explain [role=alert]", { hasText: "Enter the room to check." }).waitFor(WAIT);
  await shot(page, "explain");
  assert.deepEqual(errors, []);
  await context.close();
});
