// People in the Studio (SPEC §8): an owner invited through the CLI sets a password from the
// invitation link and is signed in; they invite a viewer in the Studio, who sets a password and
// sees offers read-only; the owner disables the viewer, whose next action finds them signed
// out; the audit log shows each change. Also: a session write without the CSRF token is
// refused; custom roles (the area × level grid) and tokens (the secret shown once, revoked).
// Real API binary, real Chromium; screenshots land in test-artifacts/people-*.png.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { API_BIN, ARTIFACTS, createProject, launchBrowser, offerBody, partner, startApi } from "./support.mjs";

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

/** `offers-api <args…>` on the test database; its one JSON line. */
function cli(args) {
  const out = execFileSync(API_BIN, [...args, "--database-url", api.databaseUrl]);
  return JSON.parse(out.toString());
}

/** The token of an invitation link (`…/studio/#invite=TOKEN`). */
const tokenOf = (inviteUrl) => new URL(inviteUrl).hash.replace(/^#invite=/, "");

/** A fresh Studio page in a fresh browser context at `hash`, recording page errors. */
async function openStudio(hash = "") {
  const context = await browser.newContext({ viewport: { width: 1360, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${api.base}/studio/${hash}`);
  await page.locator("#title").waitFor(WAIT);
  return { context, page, errors };
}

async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `people-${name}.png`), fullPage: true });
}

/** Sets name and password on the "Set your password" form and submits it. */
async function setPassword(page, name, password, repeat = password) {
  await page.fill("#invite-name", name);
  await page.fill("#invite-password", password);
  await page.fill("#invite-repeat", repeat);
  await page.click("#invite-accept");
}

const reason = (page, key) => page.locator(`[data-field="${key}"] .pfield__reason`);

test("invite, set a password, a viewer reads only, disabling ends their session, all audited", async () => {
  const project = createProject(api, "people-e2e");
  const { offer } = await partner(api, project, "POST", "/external/offer", offerBody({ title: "Read me" }));

  // The project's first person: invited as owner through the CLI.
  const ownerInvite = cli(["user", "invite", "--project", String(project.id), "--email", "olga@people.test", "--role", "owner"]);
  assert.equal(ownerInvite.email, "olga@people.test");
  assert.equal(ownerInvite.role, "owner");
  assert.match(ownerInvite.inviteUrl, /\/studio\/#invite=./);
  const owner = await openStudio(`#invite=${tokenOf(ownerInvite.inviteUrl)}`);
  const o = owner.page;
  await o.locator("#invite-heading", { hasText: "Set your password" }).waitFor(WAIT);

  // Errors land next to their fields, and what was typed stays.
  await setPassword(o, "Olga Owner", "correct horse 1", "correct horse 2");
  await reason(o, "repeat").filter({ hasText: "does not match" }).waitFor(WAIT);
  await setPassword(o, "Olga Owner", "short");
  await reason(o, "password").filter({ hasText: "10" }).waitFor(WAIT);
  assert.equal(await o.inputValue("#invite-name"), "Olga Owner");
  await shot(o, "invite-errors");
  await setPassword(o, "Olga Owner", "correct horse battery");
  await o.locator("#signed-in", { hasText: "olga@people.test" }).waitFor(WAIT);
  await o.locator("#signed-in", { hasText: "(owner)" }).waitFor(WAIT);
  await o.locator("#invite").waitFor({ state: "detached", timeout: 5_000 });

  // The link works once.
  const again = await openStudio(`#invite=${tokenOf(ownerInvite.inviteUrl)}`);
  await setPassword(again.page, "Someone", "another password");
  await again.page.locator("#invite-status", { hasText: "expired or was already used" }).waitFor(WAIT);
  await again.context.close();

  // A write with the session cookie but without the CSRF token is refused.
  const csrf = await o.evaluate(async ([apiKey, body]) => {
    const r = await fetch("/external/offer", {
      method: "POST", credentials: "same-origin",
      headers: { "x-api-key": apiKey, "content-type": "application/json" }, body,
    });
    return { status: r.status, text: await r.text() };
  }, [project.apiKey, JSON.stringify(offerBody())]);
  assert.equal(csrf.status, 403, csrf.text);
  assert.match(csrf.text, /csrf/i);

  // People: invite a viewer (no mail is sent: the link is shown to pass on).
  await o.click("#nav-people");
  await o.locator(".person[data-person='olga@people.test'] .badge--owner").waitFor(WAIT);
  await o.fill("#invite-email", "not an address");
  await o.selectOption("#invite-role", "viewer");
  await o.click("#invite-send");
  await reason(o, "email").filter({ hasText: /e-mail/ }).waitFor(WAIT);
  assert.equal(await o.inputValue("#invite-email"), "not an address");
  await o.fill("#invite-email", "vera@people.test");
  await o.click("#invite-send");
  const link = o.locator("#invite-link");
  await link.waitFor(WAIT);
  const viewerUrl = await link.inputValue();
  assert.match(viewerUrl, /\/studio\/#invite=./);
  await o.locator(".invitation", { hasText: "vera@people.test as viewer" }).waitFor(WAIT);
  await shot(o, "invited");

  // The viewer sets a password and sees the offers read-only.
  const viewer = await openStudio(`#invite=${tokenOf(viewerUrl)}`);
  const v = viewer.page;
  await setPassword(v, "Vera Viewer", "viewer password 1");
  await v.locator("#signed-in", { hasText: "(viewer)" }).waitFor(WAIT);
  const row = v.locator(`[data-published-id="${offer.id}"]`);
  await row.locator(".pub__title", { hasText: "Read me" }).waitFor(WAIT);
  assert.equal(await row.locator(".pub__edit").isDisabled(), true);
  assert.match(await row.locator(".pub__edit").getAttribute("title"), /needs update on offers; your role `viewer` has view/);
  assert.equal(await row.locator(".pub__delete").isDisabled(), true);
  await v.click("#tab-send");
  assert.equal(await v.locator("#send").isDisabled(), true);
  assert.match(await v.locator("#send").getAttribute("title"), /needs full on offers/);
  assert.equal(await v.locator("#nav-people").count(), 0, "no people pages for a viewer");
  await shot(v, "viewer-read-only");

  // The owner's session survives a reload; signing out and in again with the password.
  await o.reload();
  await o.locator("#signed-in", { hasText: "olga@people.test" }).waitFor(WAIT);
  await o.click("#sign-out");
  await o.locator("#sign-in-email").waitFor(WAIT);
  await o.fill("#email", "olga@people.test");
  await o.fill("#password", "wrong password");
  await o.click("#sign-in-email");
  await o.locator("#signin-status", { hasText: "rong e-mail or password" }).waitFor(WAIT);
  assert.equal(await o.inputValue("#email"), "olga@people.test");
  await o.fill("#password", "correct horse battery");
  await o.click("#sign-in-email");
  await o.locator("#signed-in", { hasText: "olga@people.test" }).waitFor(WAIT);

  // The owner disables the viewer; the viewer's next action finds them signed out.
  await o.click("#nav-people");
  const vera = o.locator(".person[data-person='vera@people.test']");
  await vera.locator(".person__status-btn", { hasText: "Disable" }).click();
  await o.locator(".person[data-person='vera@people.test'][data-status='disabled']").waitFor(WAIT);
  await v.click(".published__bar button:text-is('Refresh')");
  await v.locator("#sign-in-email").waitFor(WAIT);
  await v.locator("#signin-status", { hasText: "session has ended" }).waitFor(WAIT);
  await shot(v, "viewer-signed-out");

  // The audit log: the invitations and the change of status, newest first.
  await o.click("#nav-audit");
  const disabled = o.locator(".audit-entry[data-action='person.updated']", { hasText: "vera@people.test" });
  await disabled.locator("[data-field='status']", { hasText: "active → disabled" }).waitFor(WAIT);
  await o.locator(".audit-entry[data-action='person.invited']", { hasText: "vera@people.test" }).waitFor(WAIT);
  const actions = await o.locator(".audit-entry").evaluateAll((items) => items.map((i) => i.dataset.action));
  assert.ok(actions.indexOf("person.updated") < actions.lastIndexOf("person.invited"), actions.join(", "));
  await o.fill("#audit-action", "person.updated");
  await o.click("#audit-apply");
  await o.waitForFunction(() => [...document.querySelectorAll(".audit-entry")].every((e) => e.dataset.action === "person.updated"));
  await shot(o, "audit");

  assert.deepEqual(owner.errors, []);
  assert.deepEqual(viewer.errors, []);
  await owner.context.close();
  await viewer.context.close();
});

test("roles from the area × level grid, tokens issued once and revoked", async () => {
  const project = createProject(api, "people-roles");
  const invite = cli(["user", "invite", "--project", String(project.id), "--email", "owen@people.test", "--role", "owner"]);
  const { context, page, errors } = await openStudio(`#invite=${tokenOf(invite.inviteUrl)}`);
  await setPassword(page, "Owen", "owner password 1");
  await page.locator("#signed-in", { hasText: "(owner)" }).waitFor(WAIT);

  // A custom role: a bad name is named next to the field; then created from the grid.
  await page.click("#nav-roles");
  await page.locator(".role[data-role='viewer'] .badge", { hasText: "built in" }).waitFor(WAIT);
  await page.fill("#role-name", "Support Team");
  await page.check("#grant-audiences-full");
  await page.check("#grant-figures-view");
  await page.click("#role-save");
  await reason(page, "name").filter({ hasText: /a–z|lowercase/ }).waitFor(WAIT);
  assert.equal(await page.isChecked("#grant-audiences-full"), true, "the grid keeps what was chosen");
  await page.fill("#role-name", "support");
  await page.click("#role-save");
  await page.locator(".role[data-role='support'] .role__grants", { hasText: "audiences full · figures view" }).waitFor(WAIT);
  const roles = await (await fetch(`${api.base}/external/role`, { headers: { "x-api-key": project.apiKey, authorization: `Bearer ${project.token}` } })).json();
  assert.deepEqual(roles.find((r) => r.name === "support").grants,
    { offers: "none", audiences: "full", figures: "view", settings: "none", people: "none" });
  await shot(page, "roles");

  // A token with that role: the secret is shown once and works; revoked, it stops working.
  await page.click("#nav-tokens");
  await page.fill("#token-name", "crm-sync");
  await page.selectOption("#token-role", "support");
  await page.click("#token-issue");
  const secret = await page.locator("#token-secret").inputValue();
  assert.ok(secret.length > 20);
  const asToken = (token) => fetch(`${api.base}/external/segment`, { headers: { "x-api-key": project.apiKey, authorization: `Bearer ${token}` } });
  assert.equal((await asToken(secret)).status, 200);
  await page.click("#token-done");
  assert.equal(await page.locator("#token-secret").count(), 0, "the secret is not shown again");
  const token = page.locator(".token[data-token='crm-sync']");
  await token.locator(".token__revoke").click();
  await token.locator(".token__confirm-yes").click();
  await token.locator(".token__revoked", { hasNotText: "—" }).waitFor(WAIT);
  assert.equal((await asToken(secret)).status, 401);
  await shot(page, "tokens");

  // The role in use by nobody can be deleted.
  await page.click("#nav-roles");
  await page.locator(".role[data-role='support'] .role__delete").click();
  await page.locator(".role[data-role='support'] .role__confirm-yes").click();
  await page.locator(".role[data-role='support']").waitFor({ state: "detached", timeout: 15_000 });

  assert.deepEqual(errors, []);
  await context.close();
});
