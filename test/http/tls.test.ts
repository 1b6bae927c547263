// TLS: HTTPS with the test CA, keep-alive and pipelining over TLS, and clients that don't speak TLS.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { GET, Raw, start, until } from "./_sock.ts";

const dir = fileURLToPath(new URL("../fixtures/tls/", import.meta.url));
const ca = readFileSync(`${dir}ca.pem`);
const tls = { key: readFileSync(`${dir}server.key`), cert: readFileSync(`${dir}server.pem`) };

test("HTTPS: raw TLS client, keep-alive, pipelining, req.encrypted", async () => {
  const s = await start(
    async (req, res) => {
      res.end(`${req.encrypted ? "tls" : "plain"} ${req.url} ${await req.text()}`);
    },
    { tls },
  );
  assert.equal(s.server.secure, true);
  const c = await Raw.connectTls(s.port, { ca, servername: "localhost" });
  c.write(`${GET("/a")}POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody${GET("/c")}`);
  assert.equal((await c.response()).body.toString(), "tls /a ");
  assert.equal((await c.response()).body.toString(), "tls /b body");
  const r = await c.response();
  assert.equal(r.body.toString(), "tls /c ");
  assert.equal(r.header("connection"), "keep-alive");
  c.write(GET("/bye", "Connection: close\r\n"));
  assert.equal((await c.response()).header("connection"), "close");
  await c.waitClosed();
  await until(() => s.server.connections === 0);
  await s.close();
});

test("HTTPS: node:https verifies our certificate against the CA and reads a streamed body", async () => {
  const s = await start(
    async (_req, res) => {
      for (let i = 0; i < 100; i++) await res.write(Buffer.alloc(10_000, 65));
      res.end();
    },
    { tls },
  );
  const body = await new Promise<Buffer>((resolve, reject) => {
    const rq = httpsRequest(
      { host: "127.0.0.1", port: s.port, path: "/", ca, servername: "localhost", agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () => resolve(Buffer.concat(parts)));
        res.on("error", reject);
      },
    );
    rq.on("error", reject);
    rq.end();
  });
  assert.equal(body.length, 1_000_000);
  await until(() => s.server.connections === 0, 3000);
  await s.close();
});

test("HTTPS: a plain-HTTP client and a failed handshake don't hurt the server", async () => {
  const s = await start((_req, res) => res.end("ok"), { tls });
  // Plain HTTP on the TLS port.
  const plain = connect({ port: s.port, host: "127.0.0.1" });
  plain.on("error", () => {});
  plain.write(GET());
  await new Promise<void>((resolve) => plain.on("close", () => resolve()));
  // A TLS client that rejects our certificate (no CA given).
  await assert.rejects(Raw.connectTls(s.port, { servername: "localhost" }));
  // Graceful close over TLS with an idle keep-alive connection.
  const c = await Raw.connectTls(s.port, { ca, servername: "localhost" });
  c.write(GET());
  assert.equal((await c.response()).body.toString(), "ok");
  assert.equal(s.server.connections, 1);
  // The rejected handshake above must not hold close() up until the deadline.
  const t0 = Date.now();
  await s.server.close({ deadline: 5000 });
  assert.ok(Date.now() - t0 < 2000, `close() took ${Date.now() - t0} ms`);
  await c.waitClosed();
  assert.equal(s.server.connections, 0);
});

test("HTTPS: after a client rejects our certificate, close() resolves at once (nothing else open)", async () => {
  const s = await start((_req, res) => res.end("ok"), { tls });
  // node:tls with the default CAs: our self-signed test certificate fails verification, and the
  // client aborts the handshake. Reported: close() then never resolved, with connections at 0.
  for (let i = 0; i < 3; i++) {
    await assert.rejects(Raw.connectTls(s.port, { servername: "localhost" }), /certificate/);
  }
  assert.equal(s.server.connections, 0);
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve("hung"), 2000); // referenced: a hang fails here, not silently
  });
  const t0 = Date.now();
  // A handshake left behind goes after the idle grace (a short one here): nothing was asked on it.
  const r = await Promise.race([
    s.server.close({ deadline: 10_000, idleGrace: 200 }).then(() => "closed"),
    hung,
  ]);
  clearTimeout(timer);
  assert.equal(r, "closed", "close() did not resolve within 2 s of a rejected handshake");
  assert.ok(Date.now() - t0 < 1000, `close() took ${Date.now() - t0} ms`);
});
