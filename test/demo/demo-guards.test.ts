// The demo's guards (issue 21, point 11): sign-up throttled, uploads checked for sign-in, CSRF and
// quota before their body is read (over a real socket: an anonymous 4 MiB upload is answered after
// 64 KiB of it, with no temp file and no multipart parsing), and the per-user disk quota.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Phial } from "phial";
import type { Server } from "phial/http";
import type { TestClient, TestResponse } from "phial/testing";
import { createDemo, type Demo, type DemoOptions } from "../../demo/main.ts";
import { parseResponse } from "../app/raw-http.ts";

const quiet = { info() {}, warn() {}, error() {} };
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "phial-demo-guards-"));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A demo whose multipart loader counts its runs, its temp files in a folder of their own. */
function demoWith(options: DemoOptions): { demo: Demo; spool: string; loads: () => number } {
  const demo = createDemo({ dataDir: tempDir(), logger: quiet, ...options });
  const spool = tempDir();
  demo.app.config.uploadTempDir = spool;
  let n = 0;
  const multipart = Phial.defaultBodyLoaders.get("multipart/form-data")!;
  demo.app.bodyLoaders.set("multipart/form-data", (req) => {
    n++;
    return multipart(req);
  });
  return { demo, spool, loads: () => n };
}

function tokenOf(page: TestResponse): string {
  const m = /name="csrf_token" value="([^"]+)"/.exec(page.text);
  assert.ok(m, "no CSRF token on the page");
  return m[1]!;
}

async function signedUp(demo: Demo, name: string): Promise<TestClient> {
  const c = demo.app.testClient();
  const form = await c.get("/signup");
  const pw = "correct horse";
  const r = await c.post("/signup", {
    form: { csrf_token: tokenOf(form), username: name, password: pw, confirm: pw },
  });
  assert.equal(r.status, 302, r.text);
  return c;
}

function flashes(page: TestResponse): string[] {
  return [...page.text.matchAll(/<li class="(\w+)" role="status">([^<]*)<\/li>/g)].map(
    (m) => `${m[1]}: ${m[2]}`,
  );
}

const B = "----demoguard";
function multipartHead(fields: Record<string, string>, filename: string): Buffer {
  let s = "";
  for (const [k, v] of Object.entries(fields)) {
    s += `--${B}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
  }
  s += `--${B}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  return Buffer.from(s);
}
const TAIL = Buffer.from(`\r\n--${B}--\r\n`);

/**
 * Declares an upload of `fileSize` bytes but sends only its first `sendAtMost` bytes, then waits for the
 * answer: the server must answer without the rest.
 */
function partialUpload(
  port: number,
  headers: string,
  fields: Record<string, string>,
  fileSize: number,
  sendAtMost: number,
): Promise<{ status: number; headers: Map<string, string>; body: string; sent: number }> {
  const head = multipartHead(fields, "big.bin");
  const total = head.length + fileSize + TAIL.length;
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    let out = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error("no answer: the server waited for the rest of the body"));
    }, 5000);
    const finish = (closed: boolean): void => {
      const r = parseResponse(out, false, closed);
      if (r === undefined) return;
      clearTimeout(timer);
      sock.destroy();
      resolve({ status: r.status, headers: r.headers, body: r.body.toString(), sent: sendAtMost });
    };
    sock.on("data", (d: Buffer) => {
      out = Buffer.concat([out, d]);
      finish(false);
    });
    sock.on("close", () => finish(true));
    sock.on("error", () => finish(true));
    sock.write(
      `POST /files HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=${B}\r\nContent-Length: ${total}\r\n${headers}\r\n`,
    );
    sock.write(Buffer.concat([head, Buffer.alloc(sendAtMost - head.length, 0x55)]));
  });
}

describe("demo: sign-up is throttled", () => {
  test("per address, the form and POST /api/users together: a 429 with Retry-After and a clear text", async () => {
    const { demo } = demoWith({ signupLimitPerAddress: "2 per hour" });
    const c = demo.app.testClient();
    const signup = async (username: string, remoteAddr = "127.0.0.1") =>
      c.post("/signup", {
        form: {
          csrf_token: tokenOf(await c.get("/signup")),
          username,
          password: "correct horse",
          confirm: "correct horse",
        },
        remoteAddr,
      });
    assert.equal((await signup("amy")).status, 302);
    await c.post("/signout", { form: { csrf_token: tokenOf(await c.get("/files")) } });
    const api = await c.post("/api/users", { json: { username: "ben", password: "correct horse" } });
    assert.equal(api.status, 201);
    const third = await signup("cat");
    assert.equal(third.status, 429);
    assert.ok(Number(third.headers.get("Retry-After")) > 3000, "about an hour");
    assert.match(third.text, /<title>Too Many Requests · Phial demo<\/title>/);
    assert.match(third.text, /2 per 1 hour exceeded; try again in \d+ seconds/);
    assert.equal(await demo.users.exists("cat"), false);
    const apiThird = await c.post("/api/users", { json: { username: "dan", password: "correct horse" } });
    assert.equal(apiThird.status, 429);
    assert.equal(apiThird.headers.get("content-type"), "application/json");
    assert.equal((apiThird.json as { status: number }).status, 429);
    // Another address has its own count.
    assert.equal((await signup("cat", "10.1.2.3")).status, 302);
  });
});

describe("demo: uploads are checked before their body is read", () => {
  const { demo, spool, loads } = demoWith({});
  let server: Server;
  let port: number;
  let cookie: string;
  let token: string;
  const MiB = 1024 * 1024;

  test("setup: a server on a free port, a signed-in user", async () => {
    server = demo.app.listen();
    port = (await server.listen(0, "127.0.0.1")).port;
    const c = await signedUp(demo, "uma");
    token = tokenOf(await c.get("/files"));
    cookie = `session=${c.getCookie("session")}`; // after the page that stored the CSRF secret
  });
  after(() => server?.close());

  test("anonymous 4 MiB upload: a redirect to sign in after 64 KiB of it, no temp file, no parsing", async () => {
    let seen: string[] = [];
    const watch = setInterval(() => {
      seen = seen.concat(readdirSync(spool));
    }, 1);
    let r: Awaited<ReturnType<typeof partialUpload>>;
    try {
      r = await partialUpload(port, "", { csrf_token: "x" }, 4 * MiB, 64 * 1024);
    } finally {
      clearInterval(watch);
    }
    assert.equal(r.status, 302);
    assert.equal(r.headers.get("location"), "/signin?next=/files");
    // The rest of the body was never needed: the server answered and closes rather than read 4 MiB.
    assert.equal(r.headers.get("connection"), "close");
    assert.deepEqual(seen, [], "no temp file");
    assert.equal(loads(), 0, "the multipart body was never parsed");
  });

  test("a cross-site upload by a signed-in user: 400 on its Origin, before the body", async () => {
    const r = await partialUpload(
      port,
      `Cookie: ${cookie}\r\nOrigin: https://evil.example\r\nSec-Fetch-Site: cross-site\r\n`,
      { csrf_token: token },
      4 * MiB,
      64 * 1024,
    );
    assert.equal(r.status, 400);
    assert.match(r.body, /CSRF check: Sec-Fetch-Site is cross-site/);
    assert.equal(loads(), 0);
  });

  test("a signed-in upload with a wrong token in the form: parsed, refused before the view, nothing saved", async () => {
    const head = multipartHead({ csrf_token: "not-the-token" }, "x.bin");
    const body = Buffer.concat([head, Buffer.alloc(1000, 0x41), TAIL]);
    const c = demo.app.testClient();
    c.setCookie("session", cookie.slice("session=".length));
    const r = await c.post("/files", { data: body, contentType: `multipart/form-data; boundary=${B}` });
    assert.equal(r.status, 400);
    assert.match(r.text, /the CSRF token does not match this session/);
    assert.equal(existsSync(join(demo.dataDir, "uploads", "uma")), false, "nothing saved");
    // With the right token the same upload is saved.
    const ok = await c.post("/files", {
      form: { csrf_token: token },
      files: { file: { filename: "x.bin", data: Buffer.alloc(1000, 0x41) } },
    });
    assert.equal(ok.status, 302);
    assert.deepEqual(readdirSync(join(demo.dataDir, "uploads", "uma")), ["x.bin"]);
    assert.deepEqual(readdirSync(spool), []);
  });
});

describe("demo: a per-user disk quota", () => {
  test("an upload that cannot fit: a 413 page before its body is read, or a flash after; replacing fits", async () => {
    const KiB = 1024;
    const { demo, loads } = demoWith({ quotaBytesPerUser: 100 * KiB, maxUploadBytes: 200 * KiB });
    const c = await signedUp(demo, "vera");
    const token = tokenOf(await c.get("/files"));
    const up = (name: string, size: number) =>
      c.post("/files", {
        form: { csrf_token: token },
        files: { file: { filename: name, data: Buffer.alloc(size, 0x61) } },
      });
    // Declared larger than the whole quota: refused from the headers, with the quota's text.
    const before = loads();
    const big = await up("big.bin", 150 * KiB);
    assert.equal(big.status, 413);
    assert.match(big.text, /<title>Content Too Large · Phial demo<\/title>/);
    assert.match(
      big.text,
      /Not enough space: this upload needs 13\d KB and you have 100 KB left of your 100 KB\. Delete some files first\./,
    );
    assert.equal(loads(), before, "refused before the body was parsed");

    assert.equal((await up("a.bin", 60 * KiB)).status, 302);
    // 60 + 50 KB: the declared size might fit once a file is replaced, so the body is read; then a flash.
    const over = await up("b.bin", 50 * KiB);
    assert.equal(over.status, 302);
    const list = await c.get("/files");
    assert.deepEqual(flashes(list), [
      "success: Uploaded a.bin (60 KB).",
      "error: Not enough space: this upload needs 50 KB and you have 40 KB left of your 100 KB. Delete some files first.",
    ]);
    assert.doesNotMatch(list.text, /b\.bin/);
    assert.match(list.text, /60 KB/);
    // Replacing a.bin frees its 60 KB first: 90 KB fits.
    assert.equal((await up("a.bin", 90 * KiB)).status, 302);
    assert.deepEqual(flashes(await c.get("/files")), ["success: Replaced a.bin (90 KB)."]);
    assert.deepEqual(readdirSync(join(demo.dataDir, "uploads", "vera")), ["a.bin"]);
  });
});
