import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { createServer as createNodeServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Blueprint, Phial, sendFile, sendFromDirectory, urlFor } from "phial";
import { rawRequest } from "./raw-http.ts";

const SECRET = "TOPSECRET-outside-the-app";
const PRIVATE = "PRIVATE-inside-the-app-but-not-static";
const HELLO = "Hello, static world!\n";
const MTIME = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));

let base: string;
let appDir: string;
let app: Phial;

function makeTree(): void {
  base = mkdtempSync(join(tmpdir(), "phial-files-"));
  appDir = join(base, "app");
  const s = join(appDir, "static");
  mkdirSync(join(s, "css"), { recursive: true });
  mkdirSync(join(s, "sub"), { recursive: true });
  mkdirSync(join(appDir, "downloads"), { recursive: true });
  mkdirSync(join(appDir, "bp", "assets"), { recursive: true });
  writeFileSync(join(s, "hello.txt"), HELLO);
  utimesSync(join(s, "hello.txt"), MTIME, MTIME);
  writeFileSync(join(s, "css", "site.css"), "body{}");
  writeFileSync(join(s, "sub", "b.txt"), "b");
  writeFileSync(join(s, "ünï code.txt"), "unicode");
  writeFileSync(join(s, "data.bin"), Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
  writeFileSync(join(s, "empty.txt"), "");
  writeFileSync(join(base, "secret.txt"), SECRET);
  writeFileSync(join(appDir, "private.txt"), PRIVATE);
  writeFileSync(join(appDir, "downloads", "report.pdf"), "%PDF-1.4 fake");
  writeFileSync(join(appDir, "bp", "assets", "bp.js"), "console.log(1)");
  symlinkSync(join(base, "secret.txt"), join(s, "leak.txt"));
  symlinkSync(base, join(s, "updir"));
  symlinkSync(join(s, "hello.txt"), join(s, "alias.txt"));
}

before(() => {
  makeTree();
  app = new Phial(appDir);
  app.get("/dl/<path:name>", (req) =>
    sendFromDirectory("downloads", req.params.name, { asAttachment: true }),
  );
  app.get("/private", () => sendFile("private.txt"));
  app.get("/named", () =>
    sendFile("downloads/report.pdf", { asAttachment: true, downloadName: "résumé 2024.pdf" }),
  );
  app.get("/missing", () => sendFile("nope.txt"));
  app.get("/dir", () => sendFile("static"));
  app.get("/cached", () => sendFromDirectory("static", "hello.txt", { maxAge: 60 }));
  app.get("/url", () => urlFor("static", { filename: "css/site.css" }));
  app.get("/bytes", () =>
    sendFile(Buffer.from("a,b\n1,2\n"), { downloadName: "export.csv", asAttachment: true }),
  );
  const bp = new Blueprint("bp", { root: join(appDir, "bp"), staticFolder: "assets", urlPrefix: "/bp" });
  app.registerBlueprint(bp);
});
after(() => rmSync(base, { recursive: true, force: true }));

describe("static files through the test client", () => {
  test("GET /static/<file>: body, type, length, validators, no-cache", async () => {
    const r = await app.testClient().get("/static/hello.txt");
    assert.equal(r.status, 200);
    assert.equal(r.text, HELLO);
    assert.equal(r.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(r.headers.get("content-length"), String(HELLO.length));
    assert.equal(r.headers.get("last-modified"), MTIME.toUTCString());
    assert.match(r.headers.get("etag") ?? "", /^"[0-9a-f]+-[0-9a-f]+"$/);
    assert.equal(r.headers.get("accept-ranges"), "bytes");
    assert.equal(r.headers.get("cache-control"), "no-cache");
  });

  test("nested paths, non-ASCII names, symlinks that stay inside", async () => {
    const c = app.testClient();
    assert.equal(
      (await c.get("/static/css/site.css")).headers.get("content-type"),
      "text/css; charset=utf-8",
    );
    assert.equal((await c.get("/static/%C3%BCn%C3%AF%20code.txt")).text, "unicode");
    assert.equal((await c.get("/static/alias.txt")).text, HELLO);
  });

  test("conditional GET: 304 for a matching ETag or date, 412 for a failed If-Match", async () => {
    const c = app.testClient();
    const etag = (await c.get("/static/hello.txt")).headers.get("etag")!;
    const r = await c.get("/static/hello.txt", { headers: { "If-None-Match": etag } });
    assert.equal(r.status, 304);
    assert.equal(r.data.length, 0);
    assert.equal(r.headers.get("etag"), etag);
    assert.equal(
      (await c.get("/static/hello.txt", { headers: { "If-Modified-Since": MTIME.toUTCString() } })).status,
      304,
    );
    assert.equal((await c.get("/static/hello.txt", { headers: { "If-None-Match": '"stale"' } })).status, 200);
    assert.equal((await c.get("/static/hello.txt", { headers: { "If-Match": '"stale"' } })).status, 412);
  });

  test("Range: 206 with the slice, 416 with Content-Range */size", async () => {
    const c = app.testClient();
    const r = await c.get("/static/data.bin", { headers: { Range: "bytes=10-19" } });
    assert.equal(r.status, 206);
    assert.deepEqual(
      [...r.data],
      Array.from({ length: 10 }, (_, i) => 10 + i),
    );
    assert.equal(r.headers.get("content-range"), "bytes 10-19/256");
    assert.equal(r.headers.get("content-type"), "application/octet-stream");
    const tail = await c.get("/static/data.bin", { headers: { Range: "bytes=-6" } });
    assert.deepEqual([...tail.data], [250, 251, 252, 253, 254, 255]);
    const bad = await c.get("/static/data.bin", { headers: { Range: "bytes=256-" } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get("content-range"), "bytes */256");
  });

  test("HEAD: headers with the length, no body", async () => {
    const r = await app.testClient().head("/static/data.bin");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-length"), "256");
    assert.equal(r.data.length, 0);
  });

  test("an empty file", async () => {
    const r = await app.testClient().get("/static/empty.txt");
    assert.equal(r.status, 200);
    assert.equal(r.data.length, 0);
  });

  test("sendFile: relative to the app's folder, attachment names, 404 for missing files and folders", async () => {
    const c = app.testClient();
    assert.equal((await c.get("/private")).text, PRIVATE);
    const named = await c.get("/named");
    assert.equal(named.headers.get("content-type"), "application/pdf");
    assert.equal(
      named.headers.get("content-disposition"),
      "attachment; filename=\"resume 2024.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%202024.pdf",
    );
    const dl = await c.get("/dl/report.pdf");
    assert.equal(dl.headers.get("content-disposition"), "attachment; filename=report.pdf");
    assert.equal((await c.get("/missing")).status, 404);
    assert.equal((await c.get("/dir")).status, 404);
    assert.equal((await c.get("/dl/../private.txt")).status, 404);
  });

  test("sendFile with bytes in memory: type from the name, hash ETag, 304, Range, HEAD", async () => {
    const c = app.testClient();
    const r = await c.get("/bytes");
    assert.equal(r.status, 200);
    assert.equal(r.text, "a,b\n1,2\n");
    assert.equal(r.headers.get("content-type"), "text/csv; charset=utf-8");
    assert.equal(r.headers.get("content-disposition"), "attachment; filename=export.csv");
    assert.equal(r.headers.get("last-modified"), undefined);
    const etag = r.headers.get("etag")!;
    assert.match(etag, /^"[A-Za-z0-9_-]{27}"$/);
    assert.equal((await c.get("/bytes", { headers: { "If-None-Match": etag } })).status, 304);
    const part = await c.get("/bytes", { headers: { Range: "bytes=4-6" } });
    assert.equal(part.status, 206);
    assert.equal(part.text, "1,2");
    assert.equal((await c.get("/bytes", { headers: { Range: "bytes=50-" } })).status, 416);
    const head = await c.head("/bytes");
    assert.equal(head.headers.get("content-length"), "8");
    assert.equal(head.data.length, 0);
  });

  test("maxAge and sendFileMaxAgeDefault", async () => {
    const c = app.testClient();
    assert.equal((await c.get("/cached")).headers.get("cache-control"), "public, max-age=60");
    app.config.sendFileMaxAgeDefault = 3600;
    try {
      assert.equal((await c.get("/static/hello.txt")).headers.get("cache-control"), "public, max-age=3600");
    } finally {
      app.config.sendFileMaxAgeDefault = undefined;
    }
  });

  test("urlFor('static') and a blueprint's static folder", async () => {
    const c = app.testClient();
    assert.equal((await c.get("/url")).text, "/static/css/site.css");
    assert.equal(app.urlFor("bp.static", { filename: "bp.js" }), "/bp/assets/bp.js");
    const r = await c.get("/bp/assets/bp.js"); // Flask's default: the folder's name under the prefix
    assert.equal(r.status, 200);
    assert.equal(r.text, "console.log(1)");
  });

  test("through app.fetch() and app.nodeHandler() too: ranges, HEAD, 304", async () => {
    const full = await app.fetch(new Request("http://x/static/data.bin"));
    assert.equal(full.status, 200);
    assert.equal((await full.arrayBuffer()).byteLength, 256);
    const part = await app.fetch(
      new Request("http://x/static/data.bin", { headers: { Range: "bytes=0-3" } }),
    );
    assert.equal(part.status, 206);
    assert.deepEqual([...new Uint8Array(await part.arrayBuffer())], [0, 1, 2, 3]);
    const head = await app.fetch(new Request("http://x/static/data.bin", { method: "HEAD" }));
    assert.equal(head.headers.get("content-length"), "256");
    const etag = full.headers.get("etag")!;
    const nm = await app.fetch(
      new Request("http://x/static/data.bin", { headers: { "If-None-Match": etag } }),
    );
    assert.equal(nm.status, 304);

    const server = createNodeServer(app.nodeHandler());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const r = await rawRequest(port, "GET /static/data.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=-2");
      assert.equal(r.status, 206);
      assert.deepEqual([...r.body], [254, 255]);
      const t = await rawRequest(port, "GET /static/..%2fprivate.txt HTTP/1.1\r\nHost: x");
      assert.equal(t.status, 404);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test("staticFolder: null and staticUrlPath", async () => {
    const none = new Phial(appDir, { staticFolder: null });
    assert.equal((await none.testClient().get("/static/hello.txt")).status, 404);
    const assets = new Phial(appDir, { staticUrlPath: "/assets" });
    assert.equal((await assets.testClient().get("/assets/hello.txt")).text, HELLO);
    assert.equal((await assets.testClient().get("/static/hello.txt")).status, 404);
  });
});

/** Request-targets that try to leave the static folder, as sent on the wire. */
const ATTACKS = [
  "/static/../private.txt",
  "/static/../../secret.txt",
  "/static/..%2fprivate.txt",
  "/static/..%2F..%2Fsecret.txt",
  "/static/%2e%2e/private.txt",
  "/static/%2e%2e%2fprivate.txt",
  "/static/.%2e/private.txt",
  "/static/%252e%252e%252fprivate.txt",
  "/static/..%252fprivate.txt",
  "/static/%c0%ae%c0%ae/private.txt",
  "/static/..%5cprivate.txt",
  "/static/..%5C..%5Csecret.txt",
  "/static/sub%5c..%5c..%5cprivate.txt",
  "/static/%2fetc%2fpasswd",
  "/static/%2f..%2f..%2fprivate.txt",
  "/static/sub%2f..%2f..%2fprivate.txt",
  "/static/C:/Windows/win.ini",
  "/static/C:%5CWindows%5Cwin.ini",
  "/static/c:private.txt",
  "/static/NUL",
  "/static/con.txt",
  "/static/sub/aux",
  "/static/COM1.txt",
  "/static/hello.txt%00.png",
  "/static/hello.txt%00",
  "/static/hello.txt::$DATA",
  "/static/hello.txt.",
  "/static/leak.txt",
  "/static/updir/secret.txt",
  "/static/updir/app/private.txt",
  "/static/sub/../../private.txt",
  "/static/./../private.txt",
  "/static/...",
  "/static/",
  "/static/sub",
];

/**
 * A refusal: 404 or 400. The router's mergeSlashes answers a literal `//` with a 308 to the merged path;
 * that is accepted when the redirect stays on this origin, has no dot-segment a client would resolve,
 * and the page it leads to is refused in turn. (A `%2f` is never merged: it is a character, not a `/`.)
 */
async function assertRefused(
  get: (t: string) => Promise<{ status: number; location: string | undefined; text: string }>,
  target: string,
): Promise<void> {
  const r = await get(target);
  assert.ok(!r.text.includes(SECRET) && !r.text.includes(PRIVATE), `${target} leaked`);
  if (
    r.status === 308 &&
    r.location !== undefined &&
    r.location.startsWith("/static/") &&
    !r.location.startsWith("//")
  ) {
    const segs = r.location.split("?")[0]!.split("/");
    assert.ok(
      segs.every((seg) => !/^(\.|%2e){1,2}$/i.test(seg)),
      `${target} → 308 ${r.location}: a dot-segment in a Location`,
    );
    const next = await get(r.location);
    assert.ok(next.status === 404 || next.status === 400, `${target} → 308 ${r.location} → ${next.status}`);
    assert.ok(!next.text.includes(SECRET) && !next.text.includes(PRIVATE), `${r.location} leaked`);
    return;
  }
  assert.ok(r.status === 404 || r.status === 400, `${target} → ${r.status}`);
}

describe("traversal attacks", () => {
  test("through the test client: every one a 404 or 400, never a byte outside the folder", async () => {
    const c = app.testClient();
    const get = async (t: string) => {
      const r = await c.get(t);
      return { status: r.status, location: r.headers.get("location") ?? undefined, text: r.text };
    };
    for (const target of attacks()) await assertRefused(get, target);
  });

  test("over a real socket: the same, and the server keeps serving", async () => {
    const server = app.listen();
    const { port } = await server.listen(0, "127.0.0.1");
    try {
      const get = async (t: string) => {
        const r = await rawRequest(port, `GET ${t} HTTP/1.1\r\nHost: localhost`);
        return { status: r.status, location: r.headers.get("location"), text: r.body.toString("latin1") };
      };
      for (const target of [...attacks(), "/static/..\\private.txt", "/static/\\..\\private.txt"]) {
        await assertRefused(get, target);
      }
      const ok = await rawRequest(port, "GET /static/hello.txt HTTP/1.1\r\nHost: localhost");
      assert.equal(ok.status, 200);
      assert.equal(ok.body.toString(), HELLO);
    } finally {
      await server.close();
    }
  });
});

describe("merged slashes on the static route", () => {
  test("%2f is never merged into a redirect; a literal // is, with escapes kept as sent", async () => {
    const server = app.listen();
    const { port } = await server.listen(0, "127.0.0.1");
    try {
      const get = (t: string) => rawRequest(port, `GET ${t} HTTP/1.1\r\nHost: localhost`);
      for (const t of ["/static/%2f..%2f..%2fprivate.txt", "/static/sub%2f..%2f..%2fprivate.txt"]) {
        const r = await get(t);
        assert.equal(r.status, 404, `${t}: refused as is, not a 308 to ${r.headers.get("location")}`);
      }
      const lit = await get("/static//sub//b.txt?v=1");
      assert.equal(lit.status, 308);
      assert.equal(lit.headers.get("location"), "/static/sub/b.txt?v=1");
      const esc = await get("/static//%C3%BCn%C3%AF%20code.txt");
      assert.equal(esc.headers.get("location"), "/static/%C3%BCn%C3%AF%20code.txt");
      assert.equal((await get("/static/%C3%BCn%C3%AF%20code.txt")).body.toString(), "unicode");
      const dots = await get("/static/sub//..//..//private.txt");
      assert.equal(dots.status, 404, "a merged path with dot-segments is no redirect target");
      assert.equal((await app.testClient().get("/static/%2f..%2f..%2fprivate.txt")).status, 404);
    } finally {
      await server.close();
    }
  });
});

/** The list, plus absolute paths of real files (known only once the tree exists). */
function attacks(): string[] {
  return [
    ...ATTACKS,
    `/static/${encodeURIComponent(join(appDir, "private.txt"))}`,
    `/static/${encodeURIComponent(join(base, "secret.txt"))}`,
    `/static/${join(base, "secret.txt")}`,
  ];
}
