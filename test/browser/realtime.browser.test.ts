// Real time and the protections in a real browser (Debian's chromium through playwright-core): a chat
// page in two tabs (one WebSocket each), an SSE page that reconnects with Last-Event-ID after the server
// restarts, a cross-origin fetch that passes its preflight and one that is refused, a compressed page
// decoded by the browser, and a forged cross-site form post refused.
//
// The app is served at http://127.0.0.1:<a>; "another site" is a second server reached as
// http://localhost:<b> (another site to the browser: the host differs).
//
// Skips when /usr/bin/chromium is missing (.ci/run installs it). Another chromium: PHIAL_CHROMIUM.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { eventStream, Phial } from "phial";
import type { Server } from "phial/http";
import { type BrowserContext, chromium } from "playwright-core";

const CHROMIUM = process.env.PHIAL_CHROMIUM || "/usr/bin/chromium";

const CHAT_PAGE = `<!doctype html><title>chat</title><ul id="log"></ul>
<form id="f"><input id="msg"><button>send</button></form>
<script>
  const log = document.getElementById("log");
  const ws = new WebSocket("ws://" + location.host + "/ws/" + location.pathname.split("/").pop());
  window.ready = new Promise((r) => ws.addEventListener("open", r));
  ws.addEventListener("message", (e) => {
    const li = document.createElement("li");
    li.textContent = e.data;
    log.append(li);
  });
  document.getElementById("f").addEventListener("submit", (e) => {
    e.preventDefault();
    ws.send(document.getElementById("msg").value);
  });
</script>`;

const SSE_PAGE = `<!doctype html><title>events</title><script>
  window.seen = [];
  const es = new EventSource("/stream");
  es.addEventListener("tick", (e) => window.seen.push(e.lastEventId + ":" + e.data));
</script>`;

function makeApp(lastIds: (string | undefined)[], granted: { origin: string }): Phial {
  const app = new Phial(import.meta.url, { fromEnv: false, staticFolder: null });
  app.logger = { info() {}, warn() {}, error: console.error };
  app.config.compression = true;
  app.get("/chat/<room>", () => CHAT_PAGE);
  app.websocket("/ws/<room>", async (ws, req) => {
    ws.join(req.params.room);
    for await (const m of ws)
      await app.websockets.publish(req.params.room, `${ws.id.slice(0, 4)}: ${String(m)}`);
  });
  app.get("/events", () => SSE_PAGE);
  app.get("/stream", () =>
    eventStream(
      async function* (lastEventId) {
        lastIds.push(lastEventId);
        let n = lastEventId === undefined ? 1 : Number(lastEventId) + 1;
        for (;;) {
          yield { event: "tick", id: n, data: `n${n}` };
          n++;
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      { retry: 300 },
    ),
  );
  app.get("/big", () => `<!doctype html><title>big</title><p id="p">${"compressed text ".repeat(8000)}</p>`);
  app.route("/api/data", { methods: ["GET", "PUT"], cors: { origins: (o) => o === granted.origin } }, () => ({
    ok: true,
  }));
  app.route("/api/private", { methods: ["PUT"] }, () => ({ secret: true }));
  app.post("/transfer", (req) => `moved ${req.form.get("amount")}`);
  return app;
}

test("chromium: WebSocket chat in two tabs, SSE resumes after a restart, CORS, compression, CSRF", {
  skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`,
  timeout: 90_000,
}, async (t) => {
  const lastIds: (string | undefined)[] = [];
  const granted = { origin: "" };
  const app = makeApp(lastIds, granted);
  let server: Server = app.listen();
  const { port } = await server.listen(0, "127.0.0.1");
  const base = `http://127.0.0.1:${port}`;

  // The other site: a page with a forged form and cross-origin fetches.
  const other = new Phial(import.meta.url, { fromEnv: false, staticFolder: null });
  other.get(
    "/forge",
    () => `<!doctype html><form id="f" method="post" action="${base}/transfer">
    <input name="amount" value="1000"></form><script>document.getElementById("f").submit()</script>`,
  );
  other.get("/fetch", () => "<!doctype html><title>other</title>");
  const otherServer = other.listen();
  const otherPort = (await otherServer.listen(0, "127.0.0.1")).port;
  const otherBase = `http://localhost:${otherPort}`;
  granted.origin = otherBase; // /api/data grants exactly the other site's origin

  const profile = mkdtempSync(join(tmpdir(), "phial-browser-rt-"));
  let context: BrowserContext | undefined;
  t.after(async () => {
    await context?.close();
    await server.close({ deadline: 500 });
    await otherServer.close({ deadline: 500 });
    rmSync(profile, { recursive: true, force: true });
  });
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  context.setDefaultTimeout(15_000);

  await t.test("chat: two tabs, one WebSocket each, see each other's messages", async () => {
    const a = context!.pages()[0] ?? (await context!.newPage());
    const b = await context!.newPage();
    await a.goto(`${base}/chat/lobby`);
    await b.goto(`${base}/chat/lobby`);
    await a.evaluate("window.ready");
    await b.evaluate("window.ready");
    await a.fill("#msg", "hello from A");
    await a.click("button");
    await b.locator("li", { hasText: "hello from A" }).waitFor();
    await b.fill("#msg", "hi from B");
    await b.click("button");
    await a.locator("li", { hasText: "hi from B" }).waitFor();
    assert.equal(app.websockets.connections.size, 2);
    await b.close();
  });

  await t.test("SSE: after the server restarts, the browser resumes with Last-Event-ID", async () => {
    const page = await context!.newPage();
    await page.goto(`${base}/events`);
    await page.waitForFunction("window.seen.length >= 3");
    await server.close({ deadline: 200 });
    const before = (await page.evaluate("window.seen")) as string[];
    const lastSeen = before.at(-1)!.split(":")[0]!;
    server = app.listen();
    await server.listen(port, "127.0.0.1");
    await page.waitForFunction(`window.seen.length >= ${before.length + 2}`);
    const after = (await page.evaluate("window.seen")) as string[];
    assert.equal(lastIds[0], undefined);
    assert.equal(lastIds.at(-1), lastSeen, "the reconnect carried the last id seen");
    assert.equal(
      after[before.length],
      `${Number(lastSeen) + 1}:n${Number(lastSeen) + 1}`,
      "no event lost or repeated",
    );
    await page.close();
  });

  await t.test("CORS: a cross-origin PUT passes its preflight; one without a grant is refused", async () => {
    const page = await context!.newPage();
    await page.goto(`${otherBase}/fetch`);
    const ok = await page.evaluate(
      (url) =>
        fetch(url, { method: "PUT", headers: { "Content-Type": "application/json" }, body: "{}" }).then((r) =>
          r.json(),
        ),
      `${base}/api/data`,
    );
    assert.deepEqual(ok, { ok: true });
    const refused = await page.evaluate(
      (url) =>
        fetch(url, { method: "PUT", headers: { "Content-Type": "application/json" }, body: "{}" }).then(
          () => "read",
          (e: Error) => `refused: ${e.name}`,
        ),
      `${base}/api/private`,
    );
    assert.equal(refused, "refused: TypeError");
    await page.close();
  });

  await t.test("compression: the browser decodes a brotli page", async () => {
    const page = await context!.newPage();
    const res = await page.goto(`${base}/big`);
    assert.equal(res!.headers()["content-encoding"], "br");
    const text = await page.textContent("#p");
    assert.equal(text, "compressed text ".repeat(8000));
    await page.close();
  });

  await t.test("CSRF: a forged form post from another site is refused", async () => {
    const page = await context!.newPage();
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${base}/transfer`),
      page.goto(`${otherBase}/forge`),
    ]);
    assert.equal(res.status(), 400);
    assert.match(await res.text(), /CSRF check: Sec-Fetch-Site is cross-site/);
    await page.close();
  });
});
