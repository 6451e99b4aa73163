// Where the pop-up sits: data-position in the viewport, and data-anchor over the host's chat
// element, above its input, following it on scroll and resize. Screenshots in test-artifacts/.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ARTIFACTS, POPUP, createProject, hostPage, launchBrowser, offerBody, partner, serveHtml, startApi,
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

// A chat column left of the middle, its input at its bottom, on a page that scrolls.
const CHAT_COLUMN = `<style>
  body { margin: 0; min-height: 2000px; }
  #chat { position: absolute; left: 40px; top: 60px; width: 420px; height: 520px; box-sizing: border-box;
    display: flex; flex-direction: column; justify-content: space-between; padding: 10px; border: 1px solid #99a; }
  #chat-input { height: 40px; }
</style>`;

async function open(options, viewport = { width: 1000, height: 700 }) {
  const project = createProject(api, `placement-${++counter}`);
  await partner(api, project, "POST", "/external/offer", offerBody({ title: "Placed" }));
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  // The final geometry, without the entry animation's offset.
  await page.emulateMedia({ reducedMotion: "reduce" });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const url = `${api.base}/host/placement-${counter}.html`;
  await serveHtml(page, url, hostPage({ project, ...options }));
  await page.goto(url);
  const layer = page.locator(`${POPUP} .layer`);
  await layer.waitFor({ timeout: 15_000 });
  return { context, page, layer, errors };
}

const rect = (locator) => locator.evaluate((el) => {
  const r = el.getBoundingClientRect();
  return { top: r.top, right: r.right, bottom: r.bottom, left: r.left, cx: (r.left + r.right) / 2, cy: (r.top + r.bottom) / 2 };
});

const near = (actual, expected, what) =>
  assert.ok(Math.abs(actual - expected) <= 2, `${what}: ${actual} is not ~${expected}`);

test("data-position places the pop-up in the viewport", async () => {
  const expected = {
    "bottom-right": (r, w, h) => { near(r.right, w - 16, "right"); near(r.bottom, h - 16, "bottom"); },
    "bottom-left": (r, w, h) => { near(r.left, 16, "left"); near(r.bottom, h - 16, "bottom"); },
    "bottom-center": (r, w, h) => { near(r.cx, w / 2, "centre x"); near(r.bottom, h - 16, "bottom"); },
    center: (r, w, h) => { near(r.cx, w / 2, "centre x"); near(r.cy, h / 2, "centre y"); },
    top: (r, w) => { near(r.cx, w / 2, "centre x"); near(r.top, 16, "top"); },
  };
  for (const [position, check] of Object.entries(expected)) {
    const { context, page, layer, errors } = await open({ position });
    const { w, h } = await page.evaluate(() => ({ w: innerWidth, h: innerHeight }));
    check(await rect(layer), w, h);
    await page.screenshot({ path: join(ARTIFACTS, `placement-${position}.png`) });
    assert.deepEqual(errors, []);
    await context.close();
  }
});

test("an unknown data-position falls back to bottom-right with a warning", async () => {
  const project = createProject(api, `placement-${++counter}`);
  await partner(api, project, "POST", "/external/offer", offerBody({ title: "Placed" }));
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  const page = await context.newPage();
  const warnings = [];
  page.on("console", (m) => m.type() === "warning" && warnings.push(m.text()));
  const url = `${api.base}/host/placement-${counter}.html`;
  await serveHtml(page, url, hostPage({ project, position: "sideways" }));
  await page.goto(url);
  const layer = page.locator(`${POPUP} .layer`);
  await layer.waitFor({ timeout: 15_000 });
  assert.match(await layer.getAttribute("class"), /layer--bottom-right/);
  assert.ok(warnings.some((w) => w.includes("data-position") && w.includes("sideways")), warnings.join("\n"));
  await context.close();
});

test("data-anchor puts the pop-up over the chat element, above its input, following scroll and resize", async () => {
  const { context, page, layer, errors } = await open({ anchor: "#chat", position: "bottom-right", extraHead: CHAT_COLUMN });
  const chat = page.locator("#chat");
  const input = page.locator("#chat-input");
  const check = async (what) => {
    // Placement follows scroll and resize on the next event: wait (bounded) for it to settle.
    await page.waitForFunction(
      ({ popup }) => {
        const layer = document.querySelector(popup).shadowRoot.querySelector(".layer").getBoundingClientRect();
        const input = document.querySelector("#chat-input").getBoundingClientRect();
        return Math.abs(layer.bottom - (input.top - 16)) <= 2;
      },
      { popup: POPUP },
      { timeout: 5_000 },
    ).catch(() => {});
    const [l, c, i] = [await rect(layer), await rect(chat), await rect(input)];
    assert.ok(l.left >= c.left && l.right <= c.right, `${what}: inside the chat column (${JSON.stringify({ l, c })})`);
    near(l.right, c.right - 16, `${what}: right edge`);
    near(l.bottom, i.top - 16, `${what}: bottom edge above the input`);
    assert.ok(l.bottom <= i.top, `${what}: the input is not covered`);
  };
  await check("at load");
  await page.screenshot({ path: join(ARTIFACTS, "placement-anchored.png") });

  await page.evaluate(() => window.scrollTo(0, 150));
  await check("after scrolling");
  await page.screenshot({ path: join(ARTIFACTS, "placement-anchored-scrolled.png") });

  await page.evaluate(() => window.scrollTo(0, 0));
  await page.setViewportSize({ width: 700, height: 640 });
  await check("after resizing");
  await page.screenshot({ path: join(ARTIFACTS, "placement-anchored-resized.png") });
  assert.deepEqual(errors, []);
  await context.close();
});

test("the demo page's pop-up sits over its chat column, above the message box", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.emulateMedia({ reducedMotion: "reduce" });
  await page.goto(`${api.base}/demo/`);
  const layer = page.locator(`${POPUP} .layer`);
  await layer.waitFor({ timeout: 15_000 });
  const [l, c, f] = [await rect(layer), await rect(page.locator("#chat")), await rect(page.locator("#chat form"))];
  assert.ok(l.left >= c.left && l.right <= c.right, `inside the chat column: ${JSON.stringify({ l, c })}`);
  assert.ok(l.bottom <= f.top, `above the message box: ${JSON.stringify({ l, f })}`);
  await page.screenshot({ path: join(ARTIFACTS, "placement-demo.png") });
  await context.close();
});
