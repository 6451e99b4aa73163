// Shared end-to-end helpers: start the real API binary on a fresh SQLite file and a free
// loopback port, and launch Debian's Chromium through playwright-core.
import { execFileSync, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before } from "node:test";
import { chromium } from "playwright-core";

export const ROOT = resolve(import.meta.dirname, "..", "..");
export const ARTIFACTS = join(ROOT, "test-artifacts");
mkdirSync(ARTIFACTS, { recursive: true });

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

// The binary `cargo build -p offers-api` wrote; OFFERS_API_BIN points elsewhere (a
// CARGO_TARGET_DIR outside the repository).
export const API_BIN = process.env.OFFERS_API_BIN ?? join(ROOT, "target", "debug", "offers-api");

/** Starts `offers-api serve` on a fresh database (serving the widget bundle in `widgetDir`,
 * dist/widget by default); resolves once /healthz answers. */
export async function startApi({ widgetDir = join(ROOT, "dist", "widget") } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "offers-e2e-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const databaseUrl = `sqlite://${join(dir, "offers.db")}`;
  const child = spawn(
    API_BIN,
    [
      "serve",
      "--addr", `127.0.0.1:${port}`,
      "--database-url", databaseUrl,
      "--widget-dir", widgetDir,
      "--studio-dir", join(ROOT, "dist", "studio"),
    ],
    { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`offers-api exited early:\n${output}`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`offers-api did not become healthy:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    databaseUrl,
    output: () => output,
    stop: () =>
      new Promise((ok) => {
        if (child.exitCode !== null) return ok();
        child.once("exit", ok);
        child.kill("SIGTERM");
      }),
  };
}

/** Debian's Chromium, headless, as root: never a browser playwright downloads. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      // Test host pages live on made-up public origins (http://chat.test) while the API
      // listens on loopback; Chromium's Local Network Access checks would block that pairing,
      // which production (a public host and a public API) never has.
      "--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessRespectPreflightResults",
      // Benchmarks only: V8 flags to compare against (e.g. --no-wasm-lazy-compilation).
      ...(process.env.OFFERS_JS_FLAGS ? [`--js-flags=${process.env.OFFERS_JS_FLAGS}`] : []),
    ],
  });
}

/** Starts the API (`startApi(options)`) and a browser before a test file's tests and stops
 * both after them: `const env = apiAndBrowser();`, then `env.api` and `env.browser`. */
export function apiAndBrowser(options) {
  const env = {};
  before(async () => {
    env.api = await startApi(options);
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.api?.stop();
  });
  return env;
}

/** A new project on the running API's database, through the real CLI. */
export function createProject(api, name) {
  const out = execFileSync(API_BIN, ["project", "create", "--name", name, "--database-url", api.databaseUrl]);
  return JSON.parse(out.toString());
}

/** Calls the partner API as a back end would. */
export async function partner(api, project, method, path, body) {
  const response = await fetch(`${api.base}${path}`, {
    method,
    headers: {
      "x-api-key": project.apiKey,
      authorization: `Bearer ${project.token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} -> ${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A valid offer body; `overrides` replace fields. */
export function offerBody(overrides = {}) {
  return {
    template: 10,
    title: "Weekend bonus",
    text: "Deposit before Sunday and get 20% extra.",
    linkText: "Get it",
    link: "https://shop.test/bonus",
    templateData: {
      alignment: "center", bgColor: "#736969", btnColor: "#1890bf", btnTextColor: "#ffffff",
      textColor: "#000000", gradient: false,
    },
    startTime: new Date(Date.now() - 60_000).toISOString(),
    showMultipleTimes: true,
    showFrerquency: "ON_ENTRY",
    showDelayMS: 0,
    type: "GLOBAL",
    ...overrides,
  };
}

/** The signature a host back end computes for `user` (new projects require it). */
export function signUser(project, user) {
  return createHmac("sha256", project.identitySecret).update(user, "utf8").digest("hex");
}

/**
 * A host chat page with the widget's script tag, as HTML. Like a host back end, it signs
 * `user` unless `sig` is given (`sig: ""` sends the user unsigned).
 */
export function hostPage({ project, room = "room-1", user = "user-1", parentOrigin = "", extraHead = "", feed = false, sig = undefined, widgetOrigin = "", position = "", anchor = "", lang = "" }) {
  const signature = sig === undefined && user ? signUser(project, user) : sig;
  const attrs = [
    position ? `data-position="${position}"` : "",
    anchor ? `data-anchor="${anchor}"` : "",
    `data-project="${project.publicKey}"`,
    `data-room="${room}"`,
    user ? `data-user="${user}"` : "",
    signature ? `data-sig="${signature}"` : "",
    parentOrigin ? `data-parent-origin="${parentOrigin}"` : "",
    lang ? `data-lang="${lang}"` : "",
  ].join(" ");
  return `<!doctype html><html><head><meta charset="utf-8"><title>Host chat</title>${extraHead}</head>
<body><main id="chat"><p class="msg">Hello from the host chat</p>${feed ? '<div id="offers-feed"></div>' : ""}
<input id="chat-input" placeholder="Type a message"></main>
<script src="${widgetOrigin}/widget/offers.js" ${attrs} async></script></body></html>`;
}

/** Serves `html` at `url` for this page (same origin as the API when `url` is on it). */
export async function serveHtml(page, url, html, headers = {}) {
  await page.route(url, (route) =>
    route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", headers, body: html }),
  );
}

/** An SVG test image with the given proportions, served for any https://images.test/ URL. */
export async function serveImages(context) {
  await context.route("https://images.test/**", (route) => {
    const [w, h] = route.request().url().includes("banner") ? [600, 240] : [600, 400];
    route.fulfill({
      status: 200,
      contentType: "image/svg+xml",
      body: `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="100%" height="100%" fill="#3a7bd5"/><text x="20" y="60" font-size="48" fill="#fff">${w}x${h}</text></svg>`,
    });
  });
}

/** The pop-up layer's selector prefix (CSS locators pierce open shadow roots). */
export const POPUP = "[data-offers-widget=popup]";
