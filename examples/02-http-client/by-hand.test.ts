import assert from "node:assert/strict";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { test } from "node:test";
import { HTTPClient } from "./by-hand.ts";

/** A server that answers every connection with `reply`, written `step` bytes at a time (a slow network). */
async function rawServer(reply: string, step: number): Promise<{ url: string; close(): void }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.once("data", async () => {
      const bytes = Buffer.from(reply, "utf8");
      for (let i = 0; i < bytes.length; i += step) {
        s.write(bytes.subarray(i, i + step));
        await new Promise((r) => setImmediate(r));
      }
      s.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

const page = "<h1>Hello World</h1>".repeat(200); // longer than the seed's 1024-byte read

test("Content-Length framing, delivered a few bytes at a time", async (t) => {
  const srv = await rawServer(
    `HTTP/1.1 200 OK\r\nContent-Type:text/html\r\nContent-Length: ${page.length}\r\n\r\n${page}`,
    7,
  );
  t.after(() => srv.close());
  const c = await new HTTPClient().request("GET", srv.url);
  assert.equal(c.statusCode, 200);
  assert.equal(c.headers["content-type"], "text/html"); // no space after the colon: still parsed
  assert.equal(c.text, page);
});

test("chunked framing, and a body that runs to the end of the connection", async (t) => {
  const chunked = await rawServer(
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHello\r\n5;ext=1\r\n, 世\r\n0\r\n\r\n",
    3,
  );
  t.after(() => chunked.close());
  assert.equal((await new HTTPClient().request("GET", chunked.url)).text, "Hello, 世");
  const untilClose = await rawServer(`HTTP/1.0 200 OK\r\n\r\n${page}`, 1000);
  t.after(() => untilClose.close());
  assert.equal((await new HTTPClient().request("GET", untilClose.url)).text, page);
});

test("a truncated body is an error, not half a page", async (t) => {
  const srv = await rawServer("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", 100);
  t.after(() => srv.close());
  await assert.rejects(new HTTPClient().request("GET", srv.url), /cut short: 5 of 100/);
});
