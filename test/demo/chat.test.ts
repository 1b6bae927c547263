// The demo's chat (demo/chat.ts): the page and its WebSocket for signed-in users only, messages as JSON
// to everyone in the room (the sender included), the length and burst limits, and two instances that
// share a broker seeing each other's messages. Over real sockets (the test client serves the app on a
// free port of 127.0.0.1 for WebSockets).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { LocalBroker } from "phial";
import type { TestClient, TestResponse, TestWebSocket } from "phial/testing";
import type { ChatMessage } from "../../demo/chat.ts";
import { CHAT_BURST, MAX_CHAT_MESSAGE } from "../../demo/chat.ts";
import { createDemo, type Demo, type DemoOptions } from "../../demo/main.ts";

const quiet = { info() {}, warn() {}, error: console.error };
const dirs: string[] = [];
const clients: TestClient[] = [];
const sockets: TestWebSocket[] = [];
after(async () => {
  for (const s of sockets) s.terminate();
  for (const c of clients) await c.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function demoOn(dataDir?: string, options: DemoOptions = {}): Demo {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "phial-chat-"));
  if (dataDir === undefined) dirs.push(dir);
  return createDemo({
    dataDir: dir,
    logger: quiet,
    secretKey: "a key the instances of this test share!!",
    ...options,
  });
}

function tokenOf(page: TestResponse): string {
  const m = /name="csrf_token" value="([^"]+)"/.exec(page.text);
  assert.ok(m, `no CSRF token on the page:\n${page.text.slice(0, 400)}`);
  return m[1]!;
}

async function signedUp(demo: Demo, name: string): Promise<TestClient> {
  const c = demo.app.testClient();
  clients.push(c);
  const form = await c.get("/signup");
  const pw = "correct horse battery";
  const r = await c.post("/signup", {
    form: { csrf_token: tokenOf(form), username: name, password: pw, confirm: pw },
  });
  assert.equal(r.status, 302, r.text);
  return c;
}

async function signedIn(demo: Demo, name: string): Promise<TestClient> {
  const c = demo.app.testClient();
  clients.push(c);
  const form = await c.get("/signin");
  const r = await c.post("/signin", {
    form: { csrf_token: tokenOf(form), username: name, password: "correct horse battery" },
  });
  assert.equal(r.status, 302, r.text);
  return c;
}

async function open(c: TestClient): Promise<TestWebSocket> {
  const ws = await c.websocket("/chat/socket");
  sockets.push(ws);
  const hello = JSON.parse(String(await ws.nextMessage())) as ChatMessage;
  assert.equal(hello.user, undefined, "the first message is the server's notice");
  assert.match(hello.text, /^Connected as /);
  return ws;
}

async function next(ws: TestWebSocket): Promise<ChatMessage> {
  return JSON.parse(String(await ws.nextMessage())) as ChatMessage;
}

describe("demo chat", () => {
  const demo = demoOn();

  test("the page and the socket are for signed-in users: a redirect, and a refused upgrade (401)", async () => {
    const anon = demo.app.testClient();
    clients.push(anon);
    const page = await anon.get("/chat/");
    assert.equal(page.status, 302);
    assert.equal(page.headers.get("location"), "/signin?next=/chat/");
    await assert.rejects(anon.websocket("/chat/socket"), { status: 401 });
  });

  test("the page: the socket's address, a script of our own allowed by the CSP, a nav link", async () => {
    const c = await signedUp(demo, "carol");
    const page = await c.get("/chat/");
    assert.equal(page.status, 200);
    assert.match(page.text, /data-socket="\/chat\/socket"/);
    assert.match(page.text, /<script src="\/static\/chat.js" defer><\/script>/);
    assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    const home = await c.get("/");
    assert.match(home.text, /href="\/chat\/"/, "the nav links to the chat");
    assert.match(
      home.headers.get("content-security-policy") ?? "",
      /script-src 'none'/,
      "other pages run no script",
    );
  });

  test("a message reaches everyone in the room, the sender too, as JSON with the sender's name", async () => {
    const alice = await open(await signedUp(demo, "alice"));
    const bob = await open(await signedUp(demo, "bob"));
    alice.send("  hello <b>bob</b>  ");
    const a = await next(alice);
    const b = await next(bob);
    assert.deepEqual({ user: b.user, text: b.text }, { user: "alice", text: "hello <b>bob</b>" });
    assert.deepEqual(a, b);
    assert.ok(Math.abs(Date.parse(b.at) - Date.now()) < 60_000);
  });

  test("limits: too long, binary, and too many at once get a notice and are not sent", async () => {
    const dave = await open(await signedUp(demo, "dave"));
    const erin = await open(await signedUp(demo, "erin"));
    dave.send("x".repeat(MAX_CHAT_MESSAGE + 1));
    assert.match((await next(dave)).text, /at most 500 characters/);
    dave.send(Buffer.from([1, 2, 3]));
    assert.match((await next(dave)).text, /Only text/);
    for (let i = 0; i <= CHAT_BURST; i++) dave.send(`m${i}`);
    const seen: string[] = [];
    for (let i = 0; i <= CHAT_BURST; i++) seen.push((await next(dave)).text);
    assert.deepEqual(
      seen.slice(0, CHAT_BURST),
      Array.from({ length: CHAT_BURST }, (_, i) => `m${i}`),
    );
    assert.match(seen[CHAT_BURST]!, /Slow down/);
    // erin got the sent ones only, in order
    for (let i = 0; i < CHAT_BURST; i++) assert.equal((await next(erin)).text, `m${i}`);
    erin.send("after");
    assert.equal((await next(erin)).text, "after", "nothing else was queued for erin");
  });
});

describe("demo chat across instances sharing a broker", () => {
  test("a message sent on one instance reaches the users of the other", async () => {
    const dir = mkdtempSync(join(tmpdir(), "phial-chat-"));
    dirs.push(dir);
    const broker = new LocalBroker(); // one bus, as RedisBroker is for instances on several machines
    const one = demoOn(dir, { broker });
    const two = demoOn(dir, { broker });
    await signedUp(one, "frank");
    const frank = await open(await signedIn(one, "frank"));
    const grace = await open(await signedIn(two, "frank")); // same account, other instance
    frank.send("across");
    assert.equal((await next(grace)).text, "across");
    assert.equal((await next(frank)).text, "across", "the sender once, not twice");
    grace.send("back");
    assert.equal((await next(frank)).text, "back");
    assert.equal((await next(grace)).text, "back");
  });
});
