// Response compression over a real socket, decoded with node:zlib (and by curl --compressed).

import assert from "node:assert/strict";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { after, test } from "node:test";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { negotiateEncoding, type Phial, ZSTD_AVAILABLE } from "phial";
import { makeApp } from "./helpers.ts";

const servers: { close(o?: { deadline?: number }): Promise<void> }[] = [];
after(async () => {
  for (const s of servers) await s.close({ deadline: 100 });
});

async function serve(app: Phial): Promise<number> {
  const server = app.listen();
  servers.push(server);
  return (await server.listen(0, "127.0.0.1")).port;
}

function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  onChunk?: (c: Buffer) => void,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const r = httpRequest({ host: "127.0.0.1", port, path, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => {
        parts.push(c);
        onChunk?.(c);
      });
      res.on("end", () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }),
      );
    });
    r.on("error", reject);
    r.end();
  });
}

const PAGE = `<!doctype html><p>${"Hello, compressed world. ".repeat(3000)}</p>`;

test("Accept-Encoding with q-values picks br or gzip; Vary always; small, binary and 206 bodies untouched", async () => {
  const { app } = makeApp({ config: { compression: true } });
  app.get("/page", () => PAGE);
  app.get("/small", () => "tiny");
  app.get("/png", () => [Buffer.alloc(5000, 1), { "Content-Type": "image/png" }]);
  app.get("/partial", () => [
    PAGE,
    206,
    { "Content-Range": `bytes 0-${PAGE.length - 1}/${PAGE.length * 2}` },
  ]);
  app.get("/encoded", () => [PAGE, { "Content-Encoding": "identity-custom" }]);
  const port = await serve(app);

  const br = await get(port, "/page", { "accept-encoding": "gzip;q=0.8, br" });
  assert.equal(br.headers["content-encoding"], "br");
  assert.equal(br.headers.vary, "Accept-Encoding");
  assert.ok(br.body.length < PAGE.length / 10, `compressed to ${br.body.length} bytes`);
  assert.equal(brotliDecompressSync(br.body).toString(), PAGE);
  assert.equal(Number(br.headers["content-length"]), br.body.length);

  const gz = await get(port, "/page", { "accept-encoding": "br;q=0.1, gzip;q=0.9, zstd;q=0" });
  assert.equal(gz.headers["content-encoding"], "gzip");
  assert.equal(gunzipSync(gz.body).toString(), PAGE);

  const none = await get(port, "/page", { "accept-encoding": "br;q=0, gzip;q=0" });
  assert.equal(none.headers["content-encoding"], undefined);
  assert.equal(none.headers.vary, "Accept-Encoding");
  assert.equal(none.body.toString(), PAGE);

  assert.equal(
    (await get(port, "/small", { "accept-encoding": "gzip" })).headers["content-encoding"],
    undefined,
  );
  assert.equal(
    (await get(port, "/png", { "accept-encoding": "gzip" })).headers["content-encoding"],
    undefined,
  );
  assert.equal(
    (await get(port, "/partial", { "accept-encoding": "gzip" })).headers["content-encoding"],
    undefined,
  );
  const enc = await get(port, "/encoded", { "accept-encoding": "gzip" });
  assert.equal(enc.headers["content-encoding"], "identity-custom"); // never compressed twice
  assert.equal(enc.body.toString(), PAGE);
});

test("a streamed body is compressed as it streams: the first chunk arrives before the last is made", async () => {
  const { app } = makeApp({ config: { compression: { threshold: 0 } } });
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  app.get("/stream", () => [
    (async function* () {
      yield `<p>${"first part ".repeat(200)}</p>`;
      await gate;
      yield `<p>${"second part ".repeat(200)}</p>`;
    })(),
    { "Content-Type": "text/html; charset=utf-8" },
  ]);
  const port = await serve(app);
  const res = await get(port, "/stream", { "accept-encoding": "gzip" }, () => release());
  assert.equal(res.headers["content-encoding"], "gzip");
  assert.equal(res.headers["transfer-encoding"], "chunked");
  assert.equal(
    gunzipSync(res.body).toString(),
    `<p>${"first part ".repeat(200)}</p><p>${"second part ".repeat(200)}</p>`,
  );
});

test("negotiateEncoding follows q-values, * and the server's preference on ties", () => {
  assert.equal(negotiateEncoding("gzip, br", ["br", "gzip"]), "br");
  assert.equal(negotiateEncoding("gzip;q=1, br;q=0.5", ["br", "gzip"]), "gzip");
  assert.equal(negotiateEncoding("*", ["br", "gzip"]), "br");
  assert.equal(negotiateEncoding("*;q=0.5, br;q=0", ["br", "gzip"]), "gzip");
  assert.equal(negotiateEncoding("identity", ["br", "gzip"]), undefined);
  assert.equal(negotiateEncoding("gzip;q=nonsense", ["gzip"]), undefined);
  assert.equal(negotiateEncoding(undefined, ["gzip"]), undefined);
});

test("a precompressed static file (app.css.br, app.css.gz) is sent when the client accepts it", async () => {
  const { mkdtempSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { brotliCompressSync, gzipSync } = await import("node:zlib");
  const dir = mkdtempSync(join(tmpdir(), "phial-precompressed-"));
  const css = `body { color: red; }\n${"/* padding */\n".repeat(200)}`;
  writeFileSync(join(dir, "app.css"), css);
  writeFileSync(join(dir, "app.css.br"), brotliCompressSync(css));
  writeFileSync(join(dir, "app.css.gz"), gzipSync(css));
  const { app } = makeApp({ staticFolder: dir, staticUrlPath: "/static", config: { compression: true } });
  const port = await serve(app);
  const br = await get(port, "/static/app.css", { "accept-encoding": "gzip, br" });
  assert.equal(br.headers["content-encoding"], "br");
  assert.match(String(br.headers["content-type"]), /^text\/css/);
  assert.equal(brotliDecompressSync(br.body).toString(), css);
  const gz = await get(port, "/static/app.css", { "accept-encoding": "gzip" });
  assert.equal(gz.headers["content-encoding"], "gzip");
  assert.equal(gunzipSync(gz.body).toString(), css);
  const plain = await get(port, "/static/app.css");
  assert.equal(plain.headers["content-encoding"], undefined);
  assert.equal(plain.body.toString(), css);
});

test("zstd is offered only where node:zlib has it: otherwise a zstd-only client gets identity, others br or gzip by q-values", async () => {
  const zlib = await import("node:zlib");
  const has = typeof (zlib as unknown as Record<string, unknown>).zstdCompressSync === "function";
  assert.equal(ZSTD_AVAILABLE, has, "the feature detection follows node:zlib");
  // zstd named explicitly, preferred first: on a Node without it this must not reach zlib (no 500).
  const { app } = makeApp({ config: { compression: { encodings: ["zstd", "br", "gzip"] } } });
  app.get("/page", () => PAGE);
  const port = await serve(app);

  const only = await get(port, "/page", { "accept-encoding": "zstd" });
  assert.equal(only.status, 200);
  if (has) {
    assert.equal(only.headers["content-encoding"], "zstd");
    const decode = (zlib as unknown as Record<string, (b: Buffer) => Buffer>).zstdDecompressSync!;
    assert.equal(decode(only.body).toString(), PAGE);
  } else {
    assert.equal(only.headers["content-encoding"], undefined);
    assert.equal(only.body.toString(), PAGE);
  }
  const mixed = await get(port, "/page", { "accept-encoding": "zstd, br;q=0.9, gzip;q=0.5" });
  assert.equal(mixed.headers["content-encoding"], has ? "zstd" : "br");
  const gz = await get(port, "/page", { "accept-encoding": "zstd;q=1, gzip;q=0.4" });
  assert.equal(gz.headers["content-encoding"], has ? "zstd" : "gzip");
  if (!has) assert.equal(gunzipSync(gz.body).toString(), PAGE);
  // The defaults too (no encodings named): zstd appears only where it exists.
  const d = makeApp({ config: { compression: true } });
  d.app.get("/page", () => PAGE);
  const dport = await serve(d.app);
  const dz = await get(dport, "/page", { "accept-encoding": "zstd, gzip;q=0.5" });
  assert.equal(dz.status, 200);
  assert.equal(dz.headers["content-encoding"], has ? "zstd" : "gzip");
});

test("a cached static file is compressed once per encoding, and a file changed on disk is served new", async () => {
  const { mkdtempSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const dir = mkdtempSync(join(tmpdir(), "phial-compressed-cache-"));
  const v1 = `<!doctype html>${"<p>version one</p>\n".repeat(500)}`;
  writeFileSync(join(dir, "page.html"), v1);
  const { app } = makeApp({
    staticFolder: dir,
    staticUrlPath: "/static",
    config: { compression: true, fileCacheTtl: 50 },
  });
  const port = await serve(app);
  const a = await get(port, "/static/page.html", { "accept-encoding": "gzip" });
  const b = await get(port, "/static/page.html", { "accept-encoding": "gzip" });
  assert.equal(a.headers["content-encoding"], "gzip");
  assert.equal(gunzipSync(a.body).toString(), v1);
  assert.deepEqual(b.body, a.body);
  assert.match(String(a.headers.etag), /^W\//, "the compressed bytes get a weak validator");
  const br = await get(port, "/static/page.html", { "accept-encoding": "br" });
  assert.equal(brotliDecompressSync(br.body).toString(), v1);
  const plain = await get(port, "/static/page.html");
  assert.equal(plain.body.toString(), v1);

  const v2 = `<!doctype html>${"<p>the second version, longer</p>\n".repeat(500)}`;
  writeFileSync(join(dir, "page.html"), v2);
  await new Promise((r) => setTimeout(r, 120)); // past the cache's ttl
  const c = await get(port, "/static/page.html", { "accept-encoding": "gzip" });
  assert.equal(gunzipSync(c.body).toString(), v2);
  const cbr = await get(port, "/static/page.html", { "accept-encoding": "br" });
  assert.equal(brotliDecompressSync(cbr.body).toString(), v2);
});

test("a body over 128 KiB is compressed off the event loop (streamed), and large streamed chunks decode whole", async () => {
  const { app } = makeApp({ config: { compression: true } });
  const big = `{"items":[${Array.from({ length: 20_000 }, (_, i) => `{"id":${i},"name":"item ${i}"}`).join(",")}]}`;
  app.get("/big", () => [big, { "Content-Type": "application/json" }]);
  app.get("/file-like", () => {
    // 64 KiB chunks, as a file's reads come: compressed without a flush each
    const chunk = Buffer.from("0123456789abcdef".repeat(4096));
    return [
      (async function* () {
        for (let i = 0; i < 8; i++) yield chunk;
      })(),
      { "Content-Type": "text/plain" },
    ];
  });
  const port = await serve(app);
  const gz = await get(port, "/big", { "accept-encoding": "gzip" });
  assert.ok(big.length > 128 * 1024);
  assert.equal(gz.headers["content-encoding"], "gzip");
  assert.equal(gz.headers["content-length"], undefined);
  assert.equal(gz.headers["transfer-encoding"], "chunked");
  assert.equal(gunzipSync(gz.body).toString(), big);
  assert.ok(gz.body.length < big.length / 4, `${gz.body.length} bytes`);
  const head = await new Promise<IncomingHttpHeaders>((resolve, reject) => {
    const r = httpRequest(
      { host: "127.0.0.1", port, path: "/big", method: "HEAD", headers: { "accept-encoding": "gzip" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.headers));
      },
    );
    r.on("error", reject);
    r.end();
  });
  assert.equal(head["content-encoding"], "gzip");
  assert.equal(head["content-length"], undefined);
  const br = await get(port, "/file-like", { "accept-encoding": "br" });
  assert.equal(br.headers["content-encoding"], "br");
  const plain = brotliDecompressSync(br.body);
  assert.equal(plain.length, 8 * 65536);
  assert.equal(plain.toString(), "0123456789abcdef".repeat(4096 * 8));
  assert.ok(br.body.length < 60, `${br.body.length} bytes: a flush per chunk makes 118`);
});
