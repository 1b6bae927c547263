// Expect: 100-continue — the body waits for the server's go-ahead (or a short timeout).

import assert from "node:assert/strict";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { test } from "node:test";
import { Client } from "phial/client";
import { phialServer } from "./helpers.ts";

/** A raw server: `onHead` sees the first bytes (which must be the head alone) and the socket. */
async function server(onHead: (first: string, s: Socket, rest: () => Promise<string>) => void) {
  const sockets = new Set<Socket>();
  const srv = createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    let buf = "";
    let waiter: (() => void) | undefined;
    let first = true;
    s.on("data", (d) => {
      buf += d.toString("latin1");
      if (first && buf.includes("\r\n\r\n")) {
        first = false;
        const head = buf;
        buf = "";
        onHead(head, s, async () => {
          while (buf.length === 0) await new Promise<void>((r) => (waiter = r));
          return buf;
        });
      } else waiter?.();
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

test("the body is sent after 100 Continue", async () => {
  const srv = await server(async (head, s, rest) => {
    assert.match(head, /\r\nExpect: 100-continue\r\n/);
    assert.ok(head.endsWith("\r\n\r\n"), "the body came before 100 Continue");
    s.write("HTTP/1.1 100 Continue\r\n\r\n");
    const body = await rest();
    s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  });
  const c = new Client({ expectContinueTimeout: 10_000 });
  try {
    const r = await c.post(srv.url, { body: "payload", headers: { Expect: "100-continue" } });
    assert.equal(await r.text(), "payload");
  } finally {
    c.close();
    await srv.close();
  }
});

test("a final answer before 100 Continue means the body is never sent and the socket is closed", async () => {
  let later = "";
  const srv = await server((_head, s) => {
    s.write("HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n\r\nnope");
    s.on("data", (d) => {
      later += d.toString();
    });
  });
  const c = new Client({ expectContinueTimeout: 10_000 });
  try {
    const r = await c.put(srv.url, { body: Buffer.alloc(1000, 1), headers: { expect: "100-continue" } });
    assert.equal(r.status, 401);
    assert.equal(await r.text(), "nope");
    assert.deepEqual(c.stats(srv.url), { open: 0, idle: 0 });
    assert.equal(later, "");
  } finally {
    c.close();
    await srv.close();
  }
});

test("without 100 Continue the body goes after expectContinueTimeout", async () => {
  const srv = await server(async (_head, s, rest) => {
    const body = await rest();
    s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  });
  const c = new Client({ expectContinueTimeout: 50 });
  try {
    const r = await c.post(srv.url, { json: { a: 1 }, headers: { Expect: "100-continue" } });
    assert.equal(await r.text(), '{"a":1}');
  } finally {
    c.close();
    await srv.close();
  }
});

test("phial's server answers Expect: 100-continue and gets a streamed body", async () => {
  const srv = await phialServer(async (req, res) => res.end(`got ${(await req.body()).length}`));
  const c = new Client({ expectContinueTimeout: 10_000 });
  async function* gen() {
    for (let i = 0; i < 10; i++) yield Buffer.alloc(10_000, i);
  }
  try {
    const r = await c.post(srv.url, { body: gen(), headers: { Expect: "100-continue" } });
    assert.equal(await r.text(), "got 100000");
  } finally {
    c.close();
    await srv.close();
  }
});
