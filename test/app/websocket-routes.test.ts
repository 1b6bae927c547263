// `app.websocket(rule, handler)`: WebSocket routes served by the app's own server, talked to with the
// `ws` client over real sockets on 127.0.0.1.

import assert from "node:assert/strict";
import { once } from "node:events";
import { after, describe, test } from "node:test";
import { Blueprint, type Phial } from "phial";
import { WebSocket } from "ws";
import { makeApp } from "./helpers.ts";

const servers: { close(o?: { deadline?: number }): Promise<void> }[] = [];
after(async () => {
  for (const s of servers) await s.close({ deadline: 100 });
});

async function serve(app: Phial): Promise<string> {
  const server = app.listen();
  servers.push(server);
  const { port } = await server.listen(0, "127.0.0.1");
  return `127.0.0.1:${port}`;
}

function open(url: string, options?: ConstructorParameters<typeof WebSocket>[2]): Promise<WebSocket> {
  const ws = new WebSocket(url, options);
  inbox(ws); // before "open": the server's first message may come in the same packet as the 101
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

const inboxes = new WeakMap<WebSocket, { next(): Promise<string> }>();

/** Collects a socket's messages as strings; `next()` waits for the following one. */
function inbox(ws: WebSocket): { next(): Promise<string> } {
  const known = inboxes.get(ws);
  if (known !== undefined) return known;
  const got: string[] = [];
  const waiting: ((m: string) => void)[] = [];
  ws.on("message", (d, isBinary) => {
    const m = isBinary ? `bin:${(d as Buffer).toString("hex")}` : String(d);
    const w = waiting.shift();
    if (w) w(m);
    else got.push(m);
  });
  const box = {
    next: () =>
      got.length > 0 ? Promise.resolve(got.shift()!) : new Promise<string>((r) => waiting.push(r)),
  };
  inboxes.set(ws, box);
  return box;
}

async function closeOf(ws: WebSocket): Promise<[number, string]> {
  const [code, reason] = (await once(ws, "close")) as [number, Buffer];
  return [code, String(reason)];
}

/** The HTTP status of a refused upgrade. */
async function refused(url: string, headers?: Record<string, string>): Promise<number> {
  const ws = new WebSocket(url, { headers });
  ws.on("error", () => undefined); // terminate() before the handshake reports one
  const [, res] = (await once(ws, "unexpected-response")) as [unknown, { statusCode: number }];
  ws.terminate();
  return res.statusCode;
}

describe("app.websocket", () => {
  test("routes with typed params; text, binary and JSON messages; the handler's return closes with 1000", async () => {
    const { app } = makeApp();
    app.websocket("/echo/<int:n>", async (ws, req) => {
      const n: number = req.params.n; // typed by the rule
      await ws.send(`hello ${n + 1}`);
      for await (const m of ws) {
        if (typeof m === "string" && m === "bye") return;
        if (typeof m === "string") await ws.send(`echo: ${m}`);
        else await ws.send(Buffer.concat([Buffer.from([0xff]), m]));
      }
    });
    app.websocket("/json", async (ws) => {
      const v = await ws.receiveJson<{ a: number }>();
      if (v !== undefined) await ws.sendJson({ doubled: v.a * 2 });
      await ws.receive(); // until the client closes
    });
    const host = await serve(app);

    const ws = await open(`ws://${host}/echo/41`);
    const box = inbox(ws);
    assert.equal(await box.next(), "hello 42");
    ws.send("hi");
    assert.equal(await box.next(), "echo: hi");
    ws.send(Buffer.from([1, 2, 3]));
    assert.equal(await box.next(), "bin:ff010203");
    ws.send("x".repeat(70_000));
    assert.equal(await box.next(), `echo: ${"x".repeat(70_000)}`);
    ws.send("bye");
    assert.deepEqual(await closeOf(ws), [1000, ""]);

    const j = await open(`ws://${host}/json`);
    const jb = inbox(j);
    j.send(JSON.stringify({ a: 21 }));
    assert.equal(await jb.next(), '{"doubled":42}');
    j.close();
    await closeOf(j);

    const bad = await open(`ws://${host}/json`);
    bad.send("not json");
    assert.deepEqual(await closeOf(bad), [1007, "expected a JSON text message"]);

    // A converter that doesn't match: the upgrade is an ordinary 404; a plain GET gets 426.
    assert.equal(await refused(`ws://${host}/echo/abc`), 404);
    const plain = await fetch(`http://${host}/echo/1`);
    assert.equal(plain.status, 426);
    assert.equal(plain.headers.get("upgrade"), "websocket");
  });

  test("before-request hooks and the session apply: a refused upgrade is an HTTP answer, a cookie reaches the handler", async () => {
    const { app } = makeApp({ config: { secretKey: "k".repeat(32) } });
    app.post("/login", (req) => {
      req.session.set("user", "ada");
      return "ok";
    });
    app.beforeRequest((req) => {
      if (req.path.startsWith("/private") && !req.session.has("user")) return ["login first", 403];
      return undefined;
    });
    app.websocket("/private/room", async (ws, req) => {
      await ws.send(`hi ${String(req.session.get("user"))}`);
      await ws.closed;
    });
    const host = await serve(app);
    assert.equal(await refused(`ws://${host}/private/room`), 403);

    const login = await fetch(`http://${host}/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    const ws = await open(`ws://${host}/private/room`, { headers: { cookie } });
    assert.equal(await inbox(ws).next(), "hi ada");
    ws.close();
    await closeOf(ws);
  });

  test("message size limit closes with 1009; a throwing handler closes with 1011 and is logged", async () => {
    const { app, logs } = makeApp();
    app.websocket("/small", { maxMessageSize: 1000 }, async (ws) => {
      for await (const m of ws) await ws.send(`got ${m.length}`);
    });
    app.websocket("/boom", async (ws) => {
      await ws.receive();
      throw new Error("kaboom");
    });
    const host = await serve(app);
    const ws = await open(`ws://${host}/small`);
    const box = inbox(ws);
    ws.send("a".repeat(1000));
    assert.equal(await box.next(), "got 1000");
    ws.send("a".repeat(1001));
    const [code] = await closeOf(ws);
    assert.equal(code, 1009);

    const b = await open(`ws://${host}/boom`);
    b.send("go");
    assert.deepEqual(await closeOf(b), [1011, "internal error"]);
    assert.ok(logs.some((l) => l.level === "error" && (l.error as Error).message === "kaboom"));
  });

  test("rooms: publish reaches the room's other members, app.websockets.publish reaches all", async () => {
    const { app } = makeApp();
    app.websocket("/chat/<room>", async (ws, req) => {
      ws.join(req.params.room);
      await ws.send("joined");
      for await (const m of ws) await ws.publish(req.params.room, `${String(m)}`);
    });
    app.post("/announce/<room>", (req) => {
      app.websockets.publish(req.params.room, "announcement");
      return "sent";
    });
    const host = await serve(app);
    const a = await open(`ws://${host}/chat/x`);
    const b = await open(`ws://${host}/chat/x`);
    const c = await open(`ws://${host}/chat/y`);
    const [ia, ib, ic] = [inbox(a), inbox(b), inbox(c)];
    for (const i of [ia, ib, ic]) assert.equal(await i.next(), "joined");
    a.send("from a");
    assert.equal(await ib.next(), "from a");
    await fetch(`http://${host}/announce/x`, { method: "POST" });
    assert.equal(await ia.next(), "announcement"); // a never got its own "from a"
    assert.equal(await ib.next(), "announcement");
    c.send("from c");
    await fetch(`http://${host}/announce/y`, { method: "POST" });
    assert.equal(await ic.next(), "announcement"); // c's own message didn't come back
    assert.deepEqual([...app.websockets.rooms.rooms].sort(), ["x", "y"]);
    b.close();
    await closeOf(b);
    for (let i = 0; i < 50 && app.websockets.rooms.local("x").length !== 1; i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(app.websockets.rooms.local("x").length, 1); // b left the room when it closed
    a.close();
    c.close();
    await Promise.all([closeOf(a), closeOf(c)]);
  });

  test("permessage-deflate and subprotocols are negotiated when the route offers them", async () => {
    const { app } = makeApp();
    app.websocket("/z", { perMessageDeflate: true, protocols: ["chat.v2", "chat.v1"] }, async (ws) => {
      await ws.send(`${ws.protocol} ${"z".repeat(5000)}`);
      await ws.receive();
    });
    const host = await serve(app);
    const ws = await open(`ws://${host}/z`, ["chat.v1", "chat.v2"] as never);
    assert.equal(ws.protocol, "chat.v2");
    assert.match(ws.extensions, /permessage-deflate/);
    assert.equal(await inbox(ws).next(), `chat.v2 ${"z".repeat(5000)}`);
    ws.close();
    await closeOf(ws);
  });

  test("a client that stops answering pings is dropped", async () => {
    const { app } = makeApp();
    let closed: Promise<{ code: number }> | undefined;
    app.websocket("/p", { pingInterval: 0.1 }, async (ws) => {
      closed = ws.closed;
      await ws.closed;
    });
    const host = await serve(app);
    const live = await open(`ws://${host}/p`);
    const dead = await open(`ws://${host}/p`, { autoPong: false });
    const [code] = await closeOf(dead);
    assert.equal(code, 1006); // terminated, no close frame
    assert.equal(live.readyState, WebSocket.OPEN); // it answered its pings
    live.close();
    await closeOf(live);
    assert.ok(closed);
  });

  test("closing the server closes open WebSockets with 1001", async () => {
    const { app } = makeApp();
    app.websocket("/w", async (ws) => {
      await ws.closed;
    });
    const server = app.listen();
    const { port } = await server.listen(0, "127.0.0.1");
    const ws = await open(`ws://127.0.0.1:${port}/w`);
    const closing = closeOf(ws);
    await server.close({ deadline: 2000 });
    assert.deepEqual(await closing, [1001, "server shutting down"]);
    assert.equal(app.websockets.connections.size, 0);
  });

  test("on blueprints, under their prefix, with the blueprint's hooks", async () => {
    const { app } = makeApp();
    const bp = new Blueprint("live", { urlPrefix: "/live" });
    bp.beforeRequest((req) => (req.args.get("token") === "t" ? undefined : ["no token", 401]));
    bp.websocket("/feed", async function feed(ws) {
      await ws.send("feed");
      await ws.receive();
    });
    app.registerBlueprint(bp);
    const host = await serve(app);
    assert.equal(app.urlFor("live.feed"), "/live/feed");
    assert.equal(await refused(`ws://${host}/live/feed`), 401);
    const ws = await open(`ws://${host}/live/feed?token=t`);
    assert.equal(await inbox(ws).next(), "feed");
    ws.close();
    await closeOf(ws);
  });
});

test("an awaited send() follows a client that stops reading (backpressure), and goes on when it reads", async () => {
  const net = await import("node:net");
  const { app } = makeApp();
  const big = "y".repeat(256 * 1024);
  let sent = 0;
  app.websocket("/flood", { pingInterval: 0 }, async (ws) => {
    for (let i = 0; i < 200; i++) {
      if (!(await ws.send(big))) return;
      sent++;
    }
  });
  const [hostName, port] = (await serve(app)).split(":") as [string, string];
  const sock = net.connect(Number(port), hostName);
  await once(sock, "connect");
  sock.write(
    "GET /flood HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
  );
  sock.pause(); // reads nothing: the server's socket buffer fills up
  await new Promise((r) => setTimeout(r, 600));
  assert.ok(sent > 0 && sent < 100, `the handler waited for the client: ${sent} of 200 × 256 KiB sent`);
  let bytes = 0;
  sock.on("data", (d: Buffer) => {
    bytes += d.length;
  });
  sock.resume();
  const deadline = Date.now() + 20_000;
  while (sent < 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(sent, 200);
  while (bytes < 200 * 256 * 1024 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(bytes >= 200 * 256 * 1024, `all the messages arrived (${bytes} bytes)`);
  sock.destroy();
});

test("an h2c upgrade (curl --http2 on http://) is an ordinary request: a whole streamed body, the connection reused", async () => {
  const { execFile } = await import("node:child_process");
  const { app } = makeApp();
  app.websocket("/ws", async () => undefined);
  const chunk = "x".repeat(64 * 1024);
  app.get("/big", () =>
    (async function* () {
      for (let i = 0; i < 32; i++) yield chunk; // 2 MiB, streamed (once cut at 1 MiB on this path)
    })(),
  );
  app.get("/small", () => "small");
  const host = await serve(app);
  const out = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
    execFile(
      "curl",
      [
        "-sv",
        "--http2",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{size_download}\\n",
        `http://${host}/big`,
        "-o",
        "/dev/null",
        `http://${host}/small`,
      ],
      { maxBuffer: 1 << 20 },
      (err, stdout, stderr) => (err ? reject(err) : resolve({ stdout, stderr })),
    ),
  );
  assert.match(out.stderr, /Upgrade: h2c/i, "curl offered h2c");
  assert.deepEqual(out.stdout.trim().split("\n"), [`200 ${32 * 64 * 1024}`, "200 5"]);
  assert.match(out.stderr, /Re-using existing connection/, "the connection stayed open for the second URL");
  // The WebSocket route, asked for h2c instead of websocket, answers 426 as to any plain request.
  const c = await new Promise<string>((resolve, reject) =>
    execFile(
      "curl",
      ["-s", "--http2", "-o", "/dev/null", "-w", "%{http_code}", `http://${host}/ws`],
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    ),
  );
  assert.equal(c, "426");
});

test("the test client opens a WebSocket to the app with its cookies; a refused upgrade rejects with the status", async () => {
  const { app } = makeApp({ config: { secretKey: "t".repeat(32) } });
  app.post("/login", (req) => {
    req.session.set("user", "grace");
    return "ok";
  });
  app.websocket("/me", async (ws, req) => {
    if (!req.session.has("user")) return ws.close(4001, "sign in first");
    await ws.send(String(req.session.get("user")));
    await ws.receive();
  });
  app.websocket("/nope", () => undefined);
  app.beforeRequest((req) => (req.path === "/nope" ? ["no", 403] : undefined));
  const client = app.testClient();
  try {
    await client.post("/login", { json: {} });
    const ws = await client.websocket("/me");
    assert.equal(await ws.nextMessage(), "grace"); // queued from the start: none is missed
    ws.close();
    await assert.rejects(client.websocket("/nope"), { status: 403 });
  } finally {
    await client.close();
  }
});
