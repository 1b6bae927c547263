// Switching protocols: `onUpgrade` takes the socket of a request with `Connection: upgrade`, after the
// responses owed before it, with the bytes that followed it; without it such requests are requests.

import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { test } from "node:test";
import type { IncomingRequest } from "phial/http";
import { GET, Raw, start, until } from "./_sock.ts";

const UPGRADE = (path = "/chat", extra = "") =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n${extra}\r\n`;

/** An upgrade handler that answers 101 and then echoes every byte, upper-cased, on the raw socket. */
function echoUpgrade(seen: { req?: IncomingRequest; head?: Buffer; socket?: Socket }) {
  return (req: IncomingRequest, socket: Socket, head: Buffer) => {
    seen.req = req;
    seen.head = Buffer.from(head);
    seen.socket = socket;
    socket.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n");
    if (head.length > 0) socket.write(head.toString("latin1").toUpperCase());
    socket.on("data", (d: Buffer) => socket.write(d.toString("latin1").toUpperCase()));
    socket.on("end", () => socket.end());
  };
}

test("onUpgrade gets the request, the socket and the bytes after the head; the server lets go of it", async () => {
  const seen: { req?: IncomingRequest; head?: Buffer; socket?: Socket } = {};
  let handled = 0;
  const s = await start(
    (_req, res) => {
      handled++;
      res.end("http");
    },
    { onUpgrade: echoUpgrade(seen), keepAliveTimeout: 100, headersTimeout: 100 },
  );
  try {
    const c = await Raw.connect(s.port);
    c.write(`${UPGRADE("/chat?room=1")}hello`); // the new protocol's first bytes in the same packet
    const r = await c.response();
    assert.equal(r.status, 101);
    await c.need(5);
    assert.equal(c.take(5).toString(), "HELLO");
    assert.equal(seen.req?.url, "/chat?room=1");
    assert.equal(seen.req?.headers.upgrade, "echo");
    assert.equal(seen.head?.toString(), "hello");
    assert.equal(handled, 0, "the handler never saw the upgrade request");
    assert.equal(s.server.connections, 0, "the upgraded socket is no longer the server's");
    // Bytes that look like HTTP are the new protocol's now, and the wire's timeouts no longer apply.
    await new Promise((r) => setTimeout(r, 400));
    c.write("GET / HTTP/1.1\r\n\r\n");
    await c.need(18);
    assert.equal(c.take(18).toString(), "GET / HTTP/1.1\r\n\r\n".toUpperCase());
    assert.equal(c.closed, false);
    // close() doesn't close what the app now owns.
    await s.server.close({ deadline: 100 });
    assert.equal(seen.socket?.destroyed, false);
    c.write("still here");
    await c.need(10);
    assert.equal(c.take(10).toString(), "STILL HERE");
    c.destroy();
  } finally {
    seen.socket?.destroy();
    await s.close();
  }
});

test("the responses to requests pipelined before the upgrade go out first, in order", async () => {
  const seen: { req?: IncomingRequest; head?: Buffer; socket?: Socket } = {};
  const order: string[] = [];
  const s = await start(
    async (req, res) => {
      // The first answers last, so the upgrade has to wait for it.
      if (req.url === "/slow") await new Promise((r) => setTimeout(r, 50));
      order.push(req.url);
      res.end(req.url);
    },
    {
      onUpgrade: (req, socket, head) => {
        order.push(`upgrade ${req.url}`);
        echoUpgrade(seen)(req, socket, head);
      },
    },
  );
  try {
    const c = await Raw.connect(s.port);
    c.write(`${GET("/slow")}${GET("/fast")}${UPGRADE("/ws")}abc`);
    assert.equal((await c.response()).body.toString(), "/slow");
    assert.equal((await c.response()).body.toString(), "/fast");
    assert.equal((await c.response()).status, 101);
    await c.need(3);
    assert.equal(c.take(3).toString(), "ABC");
    assert.deepEqual(order, ["/fast", "/slow", "upgrade /ws"]);
    c.destroy();
  } finally {
    seen.socket?.destroy();
    await s.close();
  }
});

test("bytes that arrive while earlier responses are owed are kept for the new protocol", async () => {
  const seen: { req?: IncomingRequest; head?: Buffer; socket?: Socket } = {};
  let release: () => void = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  const s = await start(
    async (_req, res) => {
      await held;
      res.end("done");
    },
    { onUpgrade: echoUpgrade(seen) },
  );
  try {
    const c = await Raw.connect(s.port);
    c.write(`${GET("/held")}${UPGRADE()}one`);
    await new Promise((r) => setTimeout(r, 30));
    c.write("two");
    await new Promise((r) => setTimeout(r, 30));
    release();
    assert.equal((await c.response()).body.toString(), "done");
    assert.equal((await c.response()).status, 101);
    await c.need(6);
    assert.equal(c.take(6).toString(), "ONETWO");
    c.destroy();
  } finally {
    seen.socket?.destroy();
    await s.close();
  }
});

test("without onUpgrade, or with a body, or over HTTP/1.0, an upgrade request is an ordinary request", async () => {
  const plain = await start(async (req, res) => {
    if (req.url === "/later") await new Promise((r) => setTimeout(r, 20));
    res.end(`handled ${req.url}`);
  });
  try {
    const c = await Raw.connect(plain.port);
    // Answered at once, and answered later: either way the connection goes on with HTTP (curl asks
    // for h2c this way and then sends its next request on the same connection).
    c.write(UPGRADE("/a"));
    assert.equal((await c.response()).body.toString(), "handled /a");
    c.write(GET("/b"));
    assert.equal((await c.response()).body.toString(), "handled /b");
    c.write(UPGRADE("/later"));
    assert.equal((await c.response()).body.toString(), "handled /later");
    c.write(`${UPGRADE("/c")}${GET("/d")}`);
    assert.equal((await c.response()).body.toString(), "handled /c");
    assert.equal((await c.response()).body.toString(), "handled /d");
    c.destroy();
  } finally {
    await plain.close();
  }
  let upgrades = 0;
  const s = await start((req, res) => res.end(`handled ${req.url}`), {
    onUpgrade: (_req, socket) => {
      upgrades++;
      socket.destroy();
    },
  });
  try {
    const c = await Raw.connect(s.port);
    c.write(`${UPGRADE("/with-body", "Content-Length: 2\r\n")}hi`);
    assert.equal((await c.response()).body.toString(), "handled /with-body");
    c.write("GET /old HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n");
    assert.equal((await c.response()).body.toString(), "handled /old");
    assert.equal(upgrades, 0);
  } finally {
    await s.close();
  }
});

test("upgradeFilter: only the upgrades it accepts go to onUpgrade; others are requests on a connection that stays", async () => {
  const seen: { req?: IncomingRequest; head?: Buffer; socket?: Socket } = {};
  const errors: unknown[] = [];
  const s = await start((req, res) => res.end(`handled ${req.url}`), {
    onUpgrade: echoUpgrade(seen),
    upgradeFilter: (req) => {
      if (req.url === "/boom") throw new Error("filter failed");
      return req.header("upgrade") === "echo";
    },
    onError: (e) => errors.push(e),
  });
  try {
    const c = await Raw.connect(s.port);
    // curl --http2 on http:// asks for h2c like this: the answer comes over HTTP/1.1, keep-alive.
    c.write(
      "GET /h2 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n",
    );
    const r = await c.response();
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), "handled /h2");
    c.write(GET("/next"));
    assert.equal((await c.response()).body.toString(), "handled /next");
    c.write(UPGRADE("/boom"));
    assert.equal((await c.response()).body.toString(), "handled /boom", "a throwing filter: a request");
    assert.equal(errors.length, 1);
    c.write(`${UPGRADE("/chat")}hi`);
    assert.equal((await c.response()).status, 101);
    await c.need(2);
    assert.equal(c.take(2).toString(), "HI");
    assert.equal(seen.req?.url, "/chat");
    c.destroy();
  } finally {
    seen.socket?.destroy();
    await s.close();
  }
});

test("a throwing onUpgrade is reported and its socket destroyed; the server keeps serving", async () => {
  const s = await start((_req, res) => res.end("ok"), {
    onUpgrade: () => {
      throw new Error("no upgrades today");
    },
  });
  try {
    const c = await Raw.connect(s.port);
    c.write(UPGRADE());
    await c.waitClosed();
    await until(() => s.errors.length === 1, 2000, "the error to be reported");
    assert.match(String(s.errors[0]), /no upgrades today/);
    const d = await Raw.connect(s.port);
    d.write(GET("/"));
    assert.equal((await d.response()).body.toString(), "ok");
    d.destroy();
  } finally {
    await s.close();
  }
});

test("the request and the bytes are the same however the input is split, byte by byte included", async () => {
  const heads: string[] = [];
  const s = await start((_req, res) => res.end("x"), {
    onUpgrade: (req, socket, head) => {
      heads.push(`${req.url} ${head.toString()}`);
      socket.end("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n");
    },
  });
  try {
    const input = Buffer.from(`${UPGRADE("/split")}tail`, "latin1");
    const c = await Raw.connect(s.port);
    for (const b of input) {
      c.write(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    assert.equal((await c.response()).status, 101);
    await until(() => heads.length === 1, 2000, "the upgrade");
    // Split byte by byte, the tail arrives after the head: some of it may come as socket data rather
    // than in `head`, so the head is a prefix of it.
    assert.ok("/split tail".startsWith(heads[0]!), heads[0]);
    c.destroy();
  } finally {
    await s.close();
  }
});
