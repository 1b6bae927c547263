// The file cache behind static folders: what it serves from memory, for how long, and what it never
// keeps. Each test changes the disk under a running app and checks what a client sees.

import assert from "node:assert/strict";
import {
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Phial, sendFromDirectory } from "phial";
import { FileCache } from "../../src/app/files/cache.ts";

let base: string;

before(() => {
  base = mkdtempSync(join(tmpdir(), "phial-file-cache-"));
});
after(() => rmSync(base, { recursive: true, force: true }));

let n = 0;
/** A fresh app folder with static/a.txt ("one"), outside.txt next to the app, and an app over it. */
function setup(config: Record<string, unknown> = {}): { dir: string; app: Phial } {
  const dir = join(base, `app${n++}`);
  mkdirSync(join(dir, "static"), { recursive: true });
  mkdirSync(join(dir, "files"), { recursive: true });
  writeFileSync(join(dir, "static", "a.txt"), "one");
  writeFileSync(join(dir, "files", "f.txt"), "file");
  writeFileSync(join(dir, "outside.txt"), "SECRET");
  const app = new Phial(dir, { fromEnv: false, config });
  app.get("/dl/<path:name>", (req) => sendFromDirectory("files", req.params.name));
  app.get("/cached/<path:name>", (req) => sendFromDirectory("files", req.params.name, { cache: true }));
  return { dir, app };
}

/** Rewrites a file with new content and a later mtime (as a deploy or an editor does). */
function rewrite(path: string, text: string): void {
  writeFileSync(path, text);
  const t = new Date(Date.now() + 5_000);
  utimesSync(path, t, t);
}

/**
 * Runs `steps` (a fresh app, a first request, a change on disk, a second request) until they took less
 * than `ttl` ms: what the second request saw is only "within the ttl" then. A loaded machine can stall a
 * test longer than a short ttl; a retry with a fresh app is the same test again, not a weaker one.
 */
async function withinTtl<T>(ttl: number, steps: () => Promise<T>): Promise<T> {
  const took: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = Date.now();
    const r = await steps();
    took.push(Date.now() - t0);
    if (took.at(-1)! < ttl) return r;
  }
  return assert.fail(
    `every try took longer than the ${ttl} ms ttl (${took.join(", ")} ms): too loaded to tell`,
  );
}

describe("file cache: static folders", () => {
  test("a static file is served from memory for fileCacheTtl, then read again", async () => {
    const { dir, c, held } = await withinTtl(300, async () => {
      const { dir, app } = setup({ fileCacheTtl: 300 });
      const c = app.testClient();
      assert.equal((await c.get("/static/a.txt")).text, "one");
      rewrite(join(dir, "static", "a.txt"), "two");
      return { dir, c, held: (await c.get("/static/a.txt")).text };
    });
    assert.equal(held, "one", `within the ttl: the bytes held (${dir})`);
    await sleep(350);
    const r = await c.get("/static/a.txt");
    assert.equal(r.text, "two", "after the ttl: the new file");
    assert.equal(r.headers.get("content-length"), "3");
  });

  test("a file removed (or renamed away) is a 404 once the ttl is over; no disk access before", async () => {
    const { c, held } = await withinTtl(300, async () => {
      const { dir, app } = setup({ fileCacheTtl: 300 });
      const c = app.testClient();
      assert.equal((await c.get("/static/a.txt")).status, 200);
      renameSync(join(dir, "static", "a.txt"), join(dir, "a.moved"));
      return { c, held: (await c.get("/static/a.txt")).text };
    });
    assert.equal(held, "one", "held: the disk was not asked");
    await sleep(350);
    assert.equal((await c.get("/static/a.txt")).status, 404);
  });

  test("a name swapped for a link out of the folder stops being served after the ttl", async () => {
    const { dir, app } = setup({ fileCacheTtl: 300 });
    const c = app.testClient();
    assert.equal((await c.get("/static/a.txt")).text, "one");
    unlinkSync(join(dir, "static", "a.txt"));
    symlinkSync(join(dir, "outside.txt"), join(dir, "static", "a.txt"));
    await sleep(350);
    const r = await c.get("/static/a.txt");
    assert.equal(r.status, 404);
    assert.ok(!r.text.includes("SECRET"));
  });

  test("the same file touched but unchanged keeps its bytes; a changed one of the same size does not", async () => {
    const { dir, app } = setup({ fileCacheTtl: 100 });
    const c = app.testClient();
    const first = await c.get("/static/a.txt");
    await sleep(150);
    const again = await c.get("/static/a.txt");
    assert.equal(again.headers.get("etag"), first.headers.get("etag"));
    rewrite(join(dir, "static", "a.txt"), "ONE"); // same size, new mtime
    await sleep(150);
    const changed = await c.get("/static/a.txt");
    assert.equal(changed.text, "ONE");
    assert.notEqual(changed.headers.get("etag"), first.headers.get("etag"));
  });

  test("conditional and range requests are answered from the held bytes", async () => {
    const { app } = setup({ fileCacheTtl: 60_000 });
    const c = app.testClient();
    const r = await c.get("/static/a.txt");
    const etag = r.headers.get("etag")!;
    assert.equal((await c.get("/static/a.txt", { headers: { "If-None-Match": etag } })).status, 304);
    const part = await c.get("/static/a.txt", { headers: { Range: "bytes=1-" } });
    assert.equal(part.status, 206);
    assert.equal(part.text, "ne");
    assert.equal(part.headers.get("content-range"), "bytes 1-2/3");
    const head = await c.head("/static/a.txt");
    assert.equal(head.headers.get("content-length"), "3");
    assert.equal(head.text, "");
  });

  test("debug mode asks the disk every time (files are being edited)", async () => {
    const { dir, app } = setup({ debug: true });
    const c = app.testClient();
    assert.equal((await c.get("/static/a.txt")).text, "one");
    rewrite(join(dir, "static", "a.txt"), "two");
    assert.equal((await c.get("/static/a.txt")).text, "two");
  });

  test("fileCacheTtl 0 turns the cache off", async () => {
    const { dir, app } = setup({ fileCacheTtl: 0 });
    const c = app.testClient();
    assert.equal((await c.get("/static/a.txt")).text, "one");
    rewrite(join(dir, "static", "a.txt"), "two");
    assert.equal((await c.get("/static/a.txt")).text, "two");
  });
});

describe("file cache: sendFromDirectory and sendFile", () => {
  test("not cached by default: a deleted download is a 404 at once", async () => {
    const { dir, app } = setup({ fileCacheTtl: 60_000 });
    const c = app.testClient();
    assert.equal((await c.get("/dl/f.txt")).text, "file");
    unlinkSync(join(dir, "files", "f.txt"));
    assert.equal((await c.get("/dl/f.txt")).status, 404);
  });

  test("cache: true opts in", async () => {
    const { dir, app } = setup({ fileCacheTtl: 60_000 });
    const c = app.testClient();
    assert.equal((await c.get("/cached/f.txt")).text, "file");
    unlinkSync(join(dir, "files", "f.txt"));
    assert.equal((await c.get("/cached/f.txt")).text, "file");
  });
});

describe("FileCache bounds", () => {
  const stat = (path: string) => import("node:fs/promises").then((fs) => fs.stat(path));

  test("bytes held never exceed maxBytes; the oldest go first", async () => {
    const dir = join(base, "bounds");
    mkdirSync(dir, { recursive: true });
    const cache = new FileCache({ maxBytes: 250, maxFileBytes: 100 });
    const resolve = async (p: string) => ({ path: p, stats: await stat(p) });
    for (let i = 0; i < 5; i++) {
      const p = join(dir, `f${i}`);
      writeFileSync(p, Buffer.alloc(100, i));
      const e = await cache.lookup(p, 60_000, resolve, p, "");
      const data = await cache.contents(p, e!);
      assert.equal(data?.[0], i);
      assert.ok(cache.heldBytes <= 250, `held ${cache.heldBytes}`);
    }
    assert.equal(cache.heldBytes, 200);
  });

  test("files above maxFileBytes are never held; entries are bounded by maxEntries", async () => {
    const dir = join(base, "bounds2");
    mkdirSync(dir, { recursive: true });
    const cache = new FileCache({ maxFileBytes: 10, maxEntries: 3 });
    const resolve = async (p: string) => ({ path: p, stats: await stat(p) });
    const big = join(dir, "big");
    writeFileSync(big, Buffer.alloc(11));
    const e = await cache.lookup(big, 60_000, resolve, big, "");
    assert.equal(await cache.contents(big, e!), undefined, "too large: streamed by the caller");
    for (let i = 0; i < 10; i++) {
      const p = join(dir, `s${i}`);
      writeFileSync(p, "x");
      await cache.lookup(p, 60_000, resolve, p, "");
      assert.ok(cache.size <= 3);
    }
  });

  test("bytes read from a file rewritten since its stat are sent but not held", async () => {
    const dir = join(base, "race");
    mkdirSync(dir, { recursive: true });
    const p = join(dir, "r");
    writeFileSync(p, "aaaa");
    const cache = new FileCache();
    const e = await cache.lookup(p, 60_000, async (x) => ({ path: x, stats: await stat(x) }), p, "");
    rewrite(p, "bbbb"); // after the stat, before the read
    assert.equal((await cache.contents(p, e!))?.toString(), "bbbb");
    assert.equal(cache.heldBytes, 0, "the held bytes would not match the entry's validators");
  });
});
