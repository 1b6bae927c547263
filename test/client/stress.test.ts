// Many concurrent requests through a small pool, with aborts, cancels, unread bodies and server
// errors mixed in (seeded): every request settles, the pool never exceeds its size, nothing leaks.

import assert from "node:assert/strict";
import { test } from "node:test";
import { Client, ClientError } from "phial/client";
import { phialServer } from "./helpers.ts";

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

test("300 mixed requests through 8 sockets all settle and leave the pool clean", async () => {
  const srv = await phialServer(async (req, res) => {
    const u = new URL(req.url, "http://x");
    const kind = u.searchParams.get("k");
    if (kind === "slow") await new Promise((r) => setTimeout(r, 5));
    if (kind === "big") {
      res.end(Buffer.alloc(300_000, 1));
      return;
    }
    if (kind === "stream") {
      res.writeHead(200);
      for (let i = 0; i < 5; i++) await res.write(`chunk${i}`);
      res.end();
      return;
    }
    if (kind === "close") {
      res.setHeader("connection", "close");
    }
    res.end(`ok ${u.searchParams.get("i")}`);
  });
  const c = new Client({ connections: 8 });
  const rand = prng(99);
  const kinds = ["plain", "slow", "big", "stream", "close", "abort", "cancel", "post"];
  let done = 0;
  let failedTyped = 0;
  try {
    await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const kind = kinds[Math.floor(rand() * kinds.length)]!;
        const url = `${srv.url}/?i=${i}&k=${kind === "abort" ? "slow" : kind === "cancel" ? "big" : kind}`;
        try {
          if (kind === "abort") {
            const ac = new AbortController();
            const p = c.get(url, { signal: ac.signal });
            setTimeout(() => ac.abort(), 1);
            const r = await p;
            await r.text();
          } else if (kind === "cancel") {
            const r = await c.get(url);
            await r.cancel();
          } else if (kind === "post") {
            const r = await c.post(url, { json: { i } });
            assert.equal(await r.text(), `ok ${i}`);
          } else {
            const r = await c.get(url);
            const b = await r.bytes();
            if (kind === "big") assert.equal(b.length, 300_000);
            else if (kind === "stream") assert.equal(b.toString(), "chunk0chunk1chunk2chunk3chunk4");
            else assert.equal(b.toString(), `ok ${i}`);
          }
        } catch (e) {
          assert.ok(e instanceof ClientError, `request ${i} (${kind}): ${String(e)}`);
          assert.equal(kind, "abort", `request ${i} (${kind}) failed: ${String(e)}`);
          failedTyped++;
        }
        done++;
        assert.ok(c.stats(srv.url).open <= 8 + 1, "pool grew beyond its size");
      }),
    );
    assert.equal(done, 300);
    assert.ok(failedTyped > 0);
    // After everything settled, only idle sockets remain, and a request still works.
    const s = c.stats(srv.url);
    assert.equal(s.open, s.idle);
    assert.equal(await (await c.get(`${srv.url}/?i=last`)).text(), "ok last");
  } finally {
    c.close();
    await srv.close();
  }
  assert.deepEqual(c.stats(srv.url), { open: 0, idle: 0 });
});
