import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Phial } from "phial";
import type { Server } from "phial/http";
import { rawRequest } from "./raw-http.ts";

/**
 * The sparse file streamed in the memory test: 256 MiB keeps the suite fast. For the 1 GiB check:
 * `PHIAL_TEST_BIG_FILE_MIB=1024 node scripts/run-tests.mjs files-socket`.
 */
const BIG = Number(process.env.PHIAL_TEST_BIG_FILE_MIB ?? 256) * 1024 * 1024;

let base: string;
let server: Server;
let port: number;

before(async () => {
  base = mkdtempSync(join(tmpdir(), "phial-files-socket-"));
  const s = join(base, "static");
  mkdirSync(s);
  writeFileSync(join(s, "data.bin"), Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
  writeFileSync(join(s, "big.bin"), "");
  truncateSync(join(s, "big.bin"), BIG); // sparse: costs no disk
  const app = new Phial(base);
  server = app.listen();
  port = (await server.listen(0, "127.0.0.1")).port;
});
after(async () => {
  await server.close();
  rmSync(base, { recursive: true, force: true });
});

describe("static files over a real socket", () => {
  test("GET, Range, HEAD and 304 on the wire", async () => {
    const full = await rawRequest(port, "GET /static/data.bin HTTP/1.1\r\nHost: x");
    assert.equal(full.status, 200);
    assert.equal(full.headers.get("content-length"), "256");
    assert.equal(full.headers.get("transfer-encoding"), undefined);
    assert.equal(full.body.length, 256);

    const part = await rawRequest(port, "GET /static/data.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=250-");
    assert.equal(part.status, 206);
    assert.equal(part.headers.get("content-range"), "bytes 250-255/256");
    assert.equal(part.headers.get("content-length"), "6");
    assert.deepEqual([...part.body], [250, 251, 252, 253, 254, 255]);

    const bad = await rawRequest(port, "GET /static/data.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=999-");
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get("content-range"), "bytes */256");

    const head = await rawRequest(port, "HEAD /static/data.bin HTTP/1.1\r\nHost: x");
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), "256");
    assert.equal(head.body.length, 0);

    const etag = full.headers.get("etag")!;
    const nm = await rawRequest(port, `GET /static/data.bin HTTP/1.1\r\nHost: x\r\nIf-None-Match: ${etag}`);
    assert.equal(nm.status, 304);
    assert.equal(nm.body.length, 0);
    assert.equal(nm.headers.get("etag"), etag);
  });

  test(`a ${BIG / 2 ** 20} MiB file streams with flat memory`, async () => {
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    let received = 0;
    let declared = -1;
    try {
      await new Promise<void>((resolve, reject) => {
        const sock = connect(port, "127.0.0.1");
        let head = Buffer.alloc(0);
        sock.on("data", (d: Buffer) => {
          if (declared < 0) {
            head = Buffer.concat([head, d]);
            const end = head.indexOf("\r\n\r\n");
            if (end === -1) return;
            declared = Number(/content-length: (\d+)/i.exec(head.subarray(0, end).toString("latin1"))?.[1]);
            received = head.length - end - 4;
          } else {
            received += d.length;
          }
          if (received >= BIG) sock.end();
        });
        sock.on("close", () => resolve());
        sock.on("error", reject);
        sock.write("GET /static/big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      });
    } finally {
      clearInterval(sampler);
    }
    assert.equal(declared, BIG);
    assert.equal(received, BIG);
    const grewMiB = (peak - rss0) / 2 ** 20;
    // Measured: +36..64 MiB whatever the size (256 MiB, 1 GiB, 2 GiB); buffering would add the file.
    assert.ok(grewMiB < 160, `RSS grew by ${grewMiB.toFixed(0)} MiB while streaming ${BIG / 2 ** 20} MiB`);
  });

  test("HEAD, 304 and 416 open no file (no descriptor leaks)", {
    skip: !existsSync("/proc/self/fd"),
  }, async () => {
    const etag = (await rawRequest(port, "HEAD /static/data.bin HTTP/1.1\r\nHost: x")).headers.get("etag")!;
    const fds = () => readdirSync("/proc/self/fd").length;
    const before = fds();
    for (let i = 0; i < 30; i++) {
      assert.equal((await rawRequest(port, "HEAD /static/big.bin HTTP/1.1\r\nHost: x")).status, 200);
      const nm = await rawRequest(port, `GET /static/data.bin HTTP/1.1\r\nHost: x\r\nIf-None-Match: ${etag}`);
      assert.equal(nm.status, 304);
      const r = await rawRequest(port, "GET /static/data.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=300-");
      assert.equal(r.status, 416);
    }
    assert.ok(fds() <= before + 2, `descriptors: ${before} before, ${fds()} after`);
  });

  test("a client that leaves mid-download does not disturb the server", async () => {
    await new Promise<void>((resolve, reject) => {
      const sock = connect(port, "127.0.0.1");
      let got = 0;
      sock.on("data", (d: Buffer) => {
        got += d.length;
        if (got > 1024 * 1024) sock.destroy();
      });
      sock.on("close", () => resolve());
      sock.on("error", reject);
      sock.write("GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    });
    const r = await rawRequest(port, "GET /static/data.bin HTTP/1.1\r\nHost: x");
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 256);
  });
});
