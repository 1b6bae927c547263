import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Client,
  ConnectError,
  ConnectTimeoutError,
  ReadTimeoutError,
  RequestAbortedError,
  RequestTimeoutError,
} from "phial/client";
import { rawServer } from "./helpers.ts";

test("connectTimeout covers the TLS handshake of a server that never answers it", async () => {
  const srv = await rawServer(() => {});
  const c = new Client({ connectTimeout: 100 });
  try {
    const err = await c.get(`https://127.0.0.1:${srv.port}/`).catch((e: unknown) => e);
    assert.ok(err instanceof ConnectTimeoutError, String(err));
    assert.match(err.message, /took longer than 100 ms \(connectTimeout\)/);
    assert.equal(err.code, "PHIAL_CONNECT_TIMEOUT");
  } finally {
    c.destroy();
    await srv.close();
  }
});

test("a refused connection is a ConnectError with the system error as cause", async () => {
  const srv = await rawServer(() => {});
  const port = srv.port;
  await srv.close();
  const c = new Client();
  const err = await c.get(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
  assert.ok(err instanceof ConnectError, String(err));
  assert.match(err.message, /Could not connect to http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  assert.equal((err.cause as NodeJS.ErrnoException).code, "ECONNREFUSED");
});

test("readTimeout fires when the server sends no response", async () => {
  const srv = await rawServer(() => {});
  const c = new Client({ readTimeout: 100 });
  try {
    await assert.rejects(
      c.get(srv.url),
      (e: unknown) => e instanceof ReadTimeoutError && /sent nothing for 100 ms/.test(e.message),
    );
  } finally {
    c.destroy();
    await srv.close();
  }
});

test("readTimeout fires when the body stalls", async () => {
  const srv = await rawServer((_h, s) => s.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"));
  const c = new Client({ readTimeout: 100 });
  try {
    const r = await c.get(srv.url);
    await assert.rejects(r.text(), ReadTimeoutError);
  } finally {
    c.destroy();
    await srv.close();
  }
});

test("timeout bounds the whole request even when bytes keep trickling in", async () => {
  const srv = await rawServer((_h, s) => {
    s.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    const t = setInterval(() => (s.destroyed ? clearInterval(t) : s.write("a")), 20);
    s.on("close", () => clearInterval(t));
  });
  const c = new Client({ readTimeout: 1000, timeout: 150 });
  try {
    const r = await c.get(srv.url);
    await assert.rejects(
      r.text(),
      (e: unknown) => e instanceof RequestTimeoutError && /within 150 ms/.test(e.message),
    );
  } finally {
    c.destroy();
    await srv.close();
  }
});

test("an AbortSignal cancels a pending request and a body being read", async () => {
  const srv = await rawServer((h, s) => {
    if (h.startsWith("GET /body")) s.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  });
  const c = new Client();
  try {
    const ac = new AbortController();
    const p = c.get(srv.url, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error("user gave up")), 20);
    const err = await p.catch((e: unknown) => e);
    assert.ok(err instanceof RequestAbortedError, String(err));
    assert.equal((err.cause as Error).message, "user gave up");

    const ac2 = new AbortController();
    const r = await c.get(`${srv.url}/body`, { signal: ac2.signal });
    const reading = r.text();
    ac2.abort();
    await assert.rejects(reading, RequestAbortedError);

    await assert.rejects(c.get(srv.url, { signal: AbortSignal.abort() }), RequestAbortedError);
  } finally {
    c.destroy();
    await srv.close();
  }
});

test("a completed request leaves no timer behind (the deadline is cleared)", async () => {
  const srv = await rawServer((_h, s) => s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
  const c = new Client({ timeout: 60_000 });
  try {
    const ac = new AbortController();
    const r = await c.get(srv.url, { signal: ac.signal });
    assert.equal(await r.text(), "ok");
    // Aborting after completion changes nothing.
    ac.abort();
    const handles = (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo();
    assert.equal(handles.filter((h) => h === "Timeout").length, 0);
  } finally {
    c.destroy();
    await srv.close();
  }
});
