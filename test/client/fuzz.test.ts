// Seeded mutations of valid responses, split at random points: each request must end in a response
// or a typed ClientError (never a hang, never an untyped crash).

import assert from "node:assert/strict";
import { test } from "node:test";
import { Client, ClientError } from "phial/client";
import { rawServer } from "./helpers.ts";

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEEDS = [
  "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n",
  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
  "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close",
  "HTTP/1.1 301 Moved\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n",
];
const CHARS = "\r\n :;0123456789abcdefABCDEF\t\0\x7f\xff-,=";

test("mutated responses end in a response or a ClientError", async () => {
  const rand = prng(1234);
  const cases: Buffer[] = [];
  for (let i = 0; i < 300; i++) {
    const base = Buffer.from(SEEDS[i % SEEDS.length]!, "latin1");
    const b = Buffer.from(base);
    const edits = 1 + Math.floor(rand() * 3);
    let out = b;
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(rand() * out.length);
      const kind = rand();
      const ch = Buffer.from(CHARS[Math.floor(rand() * CHARS.length)]!, "latin1");
      if (kind < 0.4) out[at] = ch[0]!;
      else if (kind < 0.7) out = Buffer.concat([out.subarray(0, at), ch, out.subarray(at)]);
      else out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
    }
    cases.push(out);
  }
  const srv = await rawServer((_h, s, i) => {
    const data = cases[i]!;
    const cut = Math.floor(rand() * data.length);
    s.write(data.subarray(0, cut));
    setImmediate(() => s.end(data.subarray(cut)));
  });
  // No redirects (a mutated Location could point anywhere) and no reuse between cases.
  const c = new Client({ redirect: "manual", readTimeout: 2000, headers: { Connection: "close" } });
  let ok = 0;
  let failed = 0;
  try {
    for (let i = 0; i < cases.length; i++) {
      try {
        const r = await c.get(`${srv.url}/${i}`);
        await r.bytes();
        ok++;
      } catch (e) {
        assert.ok(
          e instanceof ClientError,
          `case ${i} ${JSON.stringify(cases[i]!.toString("latin1"))}: ${String(e)}`,
        );
        failed++;
      }
    }
  } finally {
    c.destroy();
    await srv.close();
  }
  assert.equal(ok + failed, cases.length);
  assert.ok(ok > 0 && failed > 0, `ok=${ok} failed=${failed}`);
});
