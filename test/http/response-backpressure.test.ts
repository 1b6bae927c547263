// Streaming honours backpressure: 1 GiB to a client that stops reading keeps the server's memory bounded.

import assert from "node:assert/strict";
import { once } from "node:events";
import { connect } from "node:net";
import { test } from "node:test";
import { deferred, Raw, start, until } from "./_sock.ts";

const GiB = 1024 * 1024 * 1024;
const CHUNK = 64 * 1024;

for (const mode of ["content-length", "chunked"] as const) {
  test(`1 GiB streamed (${mode}) to a slow reader: the writer stalls, memory stays bounded`, async (t) => {
    const total = GiB;
    let written = 0;
    let finished = false;
    const piece = Buffer.alloc(CHUNK, 0x61);
    const s = await start(async (_req, res) => {
      if (mode === "content-length") res.setHeader("Content-Length", String(total));
      while (written < total) {
        await res.write(piece);
        if (res.closed) return;
        written += CHUNK;
      }
      res.end();
      finished = true;
    });

    const sock = connect({ port: s.port, host: "127.0.0.1" });
    await once(sock, "connect");
    sock.pause();
    sock.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const rss0 = process.memoryUsage().rss;

    // Wait until the handler stops making progress while nobody reads.
    let last = -1;
    for (let stable = 0; stable < 5; ) {
      await new Promise((r) => setTimeout(r, 20));
      if (written === last) stable++;
      else stable = 0;
      last = written;
    }
    assert.ok(written > 0, "the handler started writing");
    t.diagnostic(`${mode}: writer stalled at ${written} bytes with the client not reading`);
    assert.ok(written < 16 * 1024 * 1024, `writer stalled after ${written} bytes with nothing read`);
    assert.ok(process.memoryUsage().rss - rss0 < 64 * 1024 * 1024, "RSS did not balloon");

    // Now read everything at full speed, counting bytes only.
    let received = 0;
    let headLen = -1;
    let peakRss = 0;
    let ticks = 0;
    let tail = Buffer.alloc(0);
    const expected = mode === "content-length" ? total : undefined;
    const done = new Promise<void>((resolve, reject) => {
      sock.on("data", (c: Buffer) => {
        if (headLen < 0) {
          const i = c.indexOf("\r\n\r\n");
          assert.ok(i > 0);
          headLen = i + 4;
          const head = c.subarray(0, headLen).toString("latin1");
          if (mode === "chunked") assert.match(head, /Transfer-Encoding: chunked/);
          else assert.match(head, new RegExp(`Content-Length: ${total}\r\n`));
        }
        received += c.length;
        if (mode === "chunked") tail = Buffer.concat([tail, c.subarray(-7)]).subarray(-7);
        if ((++ticks & 255) === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
        if (expected !== undefined && received - headLen === expected) resolve();
        if (mode === "chunked" && tail.toString() === "\r\n0\r\n\r\n") resolve();
      });
      sock.on("error", reject);
      sock.on("close", () => reject(new Error(`closed after ${received} bytes`)));
    });
    sock.resume();
    await done;
    if (mode === "content-length") {
      assert.equal(received - headLen, GiB);
    } else {
      // Each 64 KiB chunk is framed as "10000\r\n" + data + "\r\n".
      const frames = total / CHUNK;
      assert.equal(received - headLen, total + frames * (5 + 2 + 2) + 5);
    }
    assert.ok(peakRss - rss0 < 128 * 1024 * 1024, `RSS grew by ${(peakRss - rss0) >> 20} MiB`);
    await until(() => finished, 2000, "handler to finish");
    sock.destroy();
    await until(() => s.server.connections === 0);
    await s.close();
  });
}

test("a 256 MiB upload to a handler that isn't reading yet is held back by TCP, then read in full", async () => {
  const total = 256 * 1024 * 1024;
  const gate = deferred();
  let got = 0;
  const s = await start(
    async (req, res) => {
      await gate.promise;
      for await (const chunk of req) got += chunk.length;
      res.end(String(got));
    },
    { maxBodyBytes: total },
  );
  const c = await Raw.connect(s.port);
  c.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`);
  const piece = Buffer.alloc(1024 * 1024, 0x62);
  let sent = 0;
  const rss0 = process.memoryUsage().rss;
  // Write until the socket pushes back for good (the server stopped reading).
  let drained = true;
  const onDrain = () => {
    drained = true;
  };
  c.socket.on("drain", onDrain);
  while (sent < total) {
    drained = c.socket.write(piece);
    sent += piece.length;
    if (!drained) {
      await new Promise((r) => setTimeout(r, 200));
      if (!drained) break;
    }
  }
  c.socket.off("drain", onDrain);
  assert.ok(sent < 64 * 1024 * 1024, `the server stopped reading after ${sent >> 20} MiB`);
  assert.ok(got === 0);
  assert.ok(process.memoryUsage().rss - rss0 < 64 * 1024 * 1024);
  gate.resolve();
  while (sent < total) {
    if (!c.socket.write(piece)) await new Promise((r) => c.socket.once("drain", r));
    sent += piece.length;
  }
  const r = await c.response();
  assert.equal(r.body.toString(), String(total));
  c.destroy();
  await s.close();
});
