import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import { Client, DecodeError, ResponseTooLargeError } from "phial/client";
import { phialServer, type Running } from "./helpers.ts";

// A deterministic, compressible text (seeded LCG).
let seed = 42;
const words = ["alpha", "beta", "gamma", "delta", "epsilon"];
const TEXT = Array.from({ length: 20000 }, () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return words[seed % words.length];
}).join(" ");

const encoders: Record<string, (b: Buffer) => Buffer> = {
  gzip: (b) => gzipSync(b),
  deflate: (b) => deflateSync(b),
  "deflate-raw": (b) => deflateRawSync(b),
  br: (b) => brotliCompressSync(b),
};

let srv: Running;
before(async () => {
  srv = await phialServer(async (req, res) => {
    const u = new URL(req.url, "http://x");
    const enc = u.pathname.slice(1);
    if (enc === "bomb") {
      res.writeHead(200, { "content-encoding": "gzip" });
      res.end(gzipSync(Buffer.alloc(10 * 1024 * 1024)));
      return;
    }
    if (enc === "broken") {
      res.writeHead(200, { "content-encoding": "gzip" });
      res.end(Buffer.from("this is not gzip"));
      return;
    }
    if (enc === "unknown") {
      res.writeHead(200, { "content-encoding": "zstd-ish" });
      res.end("raw bytes");
      return;
    }
    const data = encoders[enc]!(Buffer.from(TEXT));
    res.writeHead(200, {
      "content-encoding": enc === "deflate-raw" ? "deflate" : enc,
      "x-accept-encoding": req.header("accept-encoding") ?? "",
    });
    if (u.searchParams.has("chunked")) {
      for (let i = 0; i < data.length; i += 1000) await res.write(data.subarray(i, i + 1000));
      res.end();
    } else {
      res.end(data);
    }
  });
});
after(() => srv.close());

for (const enc of Object.keys(encoders)) {
  test(`${enc} bodies are decoded whole and streamed`, async () => {
    const c = new Client();
    try {
      const r = await c.get(`${srv.url}/${enc}`);
      assert.equal(r.headers.get("x-accept-encoding"), "gzip, deflate, br");
      assert.equal(await r.text(), TEXT);
      const s = await c.get(`${srv.url}/${enc}?chunked`);
      const parts: Buffer[] = [];
      for await (const chunk of s) parts.push(chunk);
      assert.equal(Buffer.concat(parts).toString(), TEXT);
    } finally {
      c.close();
    }
  });
}

test("decompress: false leaves the body encoded and sends no Accept-Encoding", async () => {
  const c = new Client({ decompress: false });
  try {
    const r = await c.get(`${srv.url}/gzip`);
    assert.equal(r.headers.get("x-accept-encoding"), "");
    const b = await r.bytes();
    assert.deepEqual([b[0], b[1]], [0x1f, 0x8b]);
  } finally {
    c.close();
  }
});

test("a decompression bomb stops at maxResponseBytes, whole or streamed", async () => {
  const c = new Client({ maxResponseBytes: 1024 * 1024 });
  try {
    await assert.rejects((await c.get(`${srv.url}/bomb`)).bytes(), ResponseTooLargeError);
    await assert.rejects(async () => {
      for await (const _ of await c.get(`${srv.url}/bomb`));
    }, ResponseTooLargeError);
  } finally {
    c.close();
  }
});

test("a corrupt gzip body is a DecodeError; an unknown coding is passed through", async () => {
  const c = new Client();
  try {
    await assert.rejects((await c.get(`${srv.url}/broken`)).text(), DecodeError);
    await assert.rejects(async () => {
      for await (const _ of await c.get(`${srv.url}/broken`));
    }, DecodeError);
    assert.equal(await (await c.get(`${srv.url}/unknown`)).text(), "raw bytes");
  } finally {
    c.close();
  }
});

test("json() on a body that is not JSON is a DecodeError quoting it", async () => {
  const c = new Client();
  try {
    await assert.rejects((await c.get(`${srv.url}/unknown`)).json(), /not valid JSON: "raw bytes"/);
  } finally {
    c.close();
  }
});
