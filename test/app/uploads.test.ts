import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type FileStorage, Phial, secureFilename } from "phial";
import type { Server } from "phial/http";
import { parseResponse, rawRequest } from "./raw-http.ts";

const B = "----phialUploadBoundary";
const CT = `multipart/form-data; boundary=${B}`;

type Part = { name: string; filename?: string; type?: string; data: string | Buffer };

function multipart(parts: Part[]): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    let head = `--${B}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += "\r\n";
    if (p.type !== undefined) head += `Content-Type: ${p.type}\r\n`;
    out.push(Buffer.from(`${head}\r\n`), Buffer.from(p.data), Buffer.from("\r\n"));
  }
  out.push(Buffer.from(`--${B}--\r\n`));
  return Buffer.concat(out);
}

let tmp: string;
let saveDir: string;
let app: Phial;
/** Temp paths of spooled uploads seen by handlers, to check they are gone afterwards. */
const seen: string[] = [];

function spooledPath(f: FileStorage | undefined): string | undefined {
  return (f as { tempPath?: string } | undefined)?.tempPath;
}

before(() => {
  tmp = mkdtempSync(join(tmpdir(), "phial-uploads-tmp-"));
  saveDir = mkdtempSync(join(tmpdir(), "phial-uploads-save-"));
  app = new Phial(tmp, { config: { uploadTempDir: tmp, uploadMemorySize: 1024 } });
  app.post("/upload", async (req) => {
    const f = req.files.get("doc");
    const p = spooledPath(f);
    if (p !== undefined) seen.push(p);
    if (f !== undefined) await f.save(join(saveDir, secureFilename(f.filename)));
    return {
      title: req.form.get("title") ?? null,
      tags: req.form.getAll("tag"),
      file:
        f === undefined
          ? null
          : { name: f.filename, type: f.mimetype, size: f.size, spooled: p !== undefined },
    };
  });
  app.post("/size", (req) => ({ file: { size: req.files.get("doc")?.size ?? -1 } }));
  app.post("/echo", (req) => req.files.require("doc").stream()); // streamed after the view returns
  app.post("/small", { maxContentLength: 300 }, (req) => ({ n: req.files.getAll("doc").length }));
  app.post("/throws", (req) => {
    const p = spooledPath(req.files.get("doc"));
    if (p !== undefined) seen.push(p);
    throw new Error("handler failed after the upload");
  });
});
after(() => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(saveDir, { recursive: true, force: true });
});

function post(path: string, body: Buffer, contentType = CT) {
  return app.testClient().post(path, { data: body, headers: { "Content-Type": contentType } });
}

describe("uploads through the test client", () => {
  test("req.form and req.files from multipart/form-data; save() and secureFilename()", async () => {
    const big = Buffer.alloc(50_000, 0x41);
    const r = await post(
      "/upload",
      multipart([
        { name: "title", data: "Über" },
        { name: "tag", data: "a" },
        { name: "tag", data: "b" },
        { name: "doc", filename: "../../my report.txt", type: "text/plain", data: big },
      ]),
    );
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, {
      title: "Über",
      tags: ["a", "b"],
      file: { name: "../../my report.txt", type: "text/plain", size: 50_000, spooled: true },
    });
    assert.deepEqual(readFileSync(join(saveDir, "my_report.txt")), big);
  });

  test("spooled temp files are removed after the request, also when the handler throws", async () => {
    seen.length = 0;
    const body = multipart([{ name: "doc", filename: "x.bin", data: Buffer.alloc(10_000) }]);
    assert.equal((await post("/upload", body)).status, 200);
    assert.equal((await post("/throws", body)).status, 500);
    assert.equal(seen.length, 2);
    for (const p of seen) assert.equal(existsSync(p), false, `${p} is still there`);
    assert.deepEqual(readdirSync(tmp), []);
  });

  test("a spooled upload streamed back as the response, then removed", async () => {
    const data = Buffer.alloc(200_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 256;
    const r = await post("/echo", multipart([{ name: "doc", filename: "d.bin", data }]));
    assert.equal(r.status, 200);
    assert.deepEqual(r.data, data);
    assert.deepEqual(readdirSync(tmp), []);
  });

  test("limits from app.config give 413; malformed bodies give 400", async () => {
    const c = app.config;
    const saved = { ...c };
    try {
      c.maxFormMemorySize = 10;
      assert.equal((await post("/upload", multipart([{ name: "title", data: "x".repeat(11) }]))).status, 413);
      c.maxFormMemorySize = saved.maxFormMemorySize;
      c.maxFormParts = 2;
      const three = multipart([1, 2, 3].map((i) => ({ name: "tag", data: String(i) })));
      assert.equal((await post("/upload", three)).status, 413);
      c.maxFormParts = saved.maxFormParts;
      c.maxFileSize = 100;
      assert.equal(
        (await post("/upload", multipart([{ name: "doc", filename: "f", data: "y".repeat(101) }]))).status,
        413,
      );
      c.maxFileSize = saved.maxFileSize;
      c.maxFormFiles = 1;
      const two = multipart([1, 2].map((i) => ({ name: "doc", filename: `${i}`, data: "z" })));
      assert.equal((await post("/upload", two)).status, 413);
      c.maxFormFiles = saved.maxFormFiles;
      c.maxContentLength = 1000;
      assert.equal(
        (await post("/upload", multipart([{ name: "doc", filename: "f", data: "y".repeat(2000) }]))).status,
        413,
      );
    } finally {
      Object.assign(c, saved);
    }
    assert.equal(
      (await post("/small", multipart([{ name: "doc", filename: "f", data: "y".repeat(400) }]))).status,
      413,
    );
    assert.equal((await post("/small", multipart([{ name: "doc", filename: "f", data: "y" }]))).status, 200);
    const ok = multipart([{ name: "title", data: "t" }]);
    assert.equal((await post("/upload", ok, "multipart/form-data")).status, 400, "no boundary");
    assert.equal((await post("/upload", ok.subarray(0, ok.length - 8))).status, 400, "truncated");
    assert.equal(
      (await post("/upload", multipart([{ name: "", data: "x" }]))).status,
      400,
      "empty field name",
    );
    assert.deepEqual(readdirSync(tmp), []);
  });
});

describe("uploads from other clients", () => {
  test("the test client's files option", async () => {
    const r = await app.testClient().post("/upload", {
      form: { title: "t", tag: ["x", "y"] },
      files: { doc: { data: "hello", filename: 'quo"te\r\n.txt', contentType: "text/plain" } },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, {
      title: "t",
      tags: ["x", "y"],
      file: { name: "quo%22te%0D%0A.txt", type: "text/plain", size: 5, spooled: false },
    });
  });

  test("a web FormData body through app.fetch(), with no size limits (null)", async () => {
    const saved = app.config.maxContentLength;
    (app.config as { maxContentLength: number | null }).maxContentLength = null;
    try {
      const fd = new FormData();
      fd.append("title", "from fetch");
      fd.append("doc", new Blob([Buffer.alloc(5000, 0x44)], { type: "application/pdf" }), "naïve résumé.pdf");
      const res = await app.fetch(new Request("http://x/upload", { method: "POST", body: fd }));
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), {
        title: "from fetch",
        tags: [],
        file: { name: "naïve résumé.pdf", type: "application/pdf", size: 5000, spooled: true },
      });
    } finally {
      app.config.maxContentLength = saved;
    }
    assert.deepEqual(readdirSync(tmp), []);
  });
});

describe("uploads over a real socket", () => {
  let server: Server;
  let port: number;
  before(async () => {
    server = app.listen();
    port = (await server.listen(0, "127.0.0.1")).port;
  });
  after(() => server.close());

  test("a streamed upload, then a 413 cut short, then the server still serves", async () => {
    const file = Buffer.alloc(300_000, 0x42);
    const body = multipart([
      { name: "title", data: "t" },
      { name: "doc", filename: "f.bin", data: file },
    ]);
    const r = await rawRequest(
      port,
      `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: ${CT}\r\nContent-Length: ${body.length}`,
      body,
    );
    assert.equal(r.status, 200, r.body.toString());
    assert.equal((JSON.parse(r.body.toString()) as { file: { size: number } }).file.size, 300_000);

    app.config.maxFileSize = 1000;
    try {
      const big = await rawRequest(
        port,
        `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: ${CT}\r\nContent-Length: ${body.length}`,
        body,
      );
      assert.equal(big.status, 413);
    } finally {
      app.config.maxFileSize = undefined;
    }
    const chunked = await rawRequest(
      port,
      `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: ${CT}\r\nTransfer-Encoding: chunked`,
      Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from("\r\n0\r\n\r\n")]),
    );
    assert.equal(chunked.status, 200);
    assert.deepEqual(readdirSync(tmp), []);
  });

  test("Expect: 100-continue: an upload declared too large is refused before its body is sent", async () => {
    const r = await rawRequest(
      port,
      `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: ${CT}\r\nContent-Length: ${64 * 1024 * 1024}\r\nExpect: 100-continue`,
    );
    assert.equal(r.status, 413);
    const small = multipart([{ name: "title", data: "ok" }]);
    const sock = connect(port, "127.0.0.1");
    const text = await new Promise<string>((resolve, reject) => {
      let out = "";
      let sent = false;
      sock.on("data", (d: Buffer) => {
        out += d.toString("latin1");
        if (!sent && out.startsWith("HTTP/1.1 100 Continue\r\n\r\n")) {
          sent = true;
          sock.write(small);
        }
        const res = parseResponse(Buffer.from(out.slice(out.indexOf("HTTP/1.1 2")), "latin1"));
        if (sent && out.includes("HTTP/1.1 200") && res !== undefined) resolve(res.body.toString());
      });
      sock.on("error", reject);
      sock.write(
        `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: ${CT}\r\nContent-Length: ${small.length}\r\nExpect: 100-continue\r\n\r\n`,
      );
    });
    sock.destroy();
    assert.equal((JSON.parse(text) as { title: string }).title, "ok");
  });

  test("a 128 MiB upload streams to disk with flat memory", async () => {
    const SIZE = 128 * 1024 * 1024;
    const saved = app.config.maxContentLength;
    app.config.maxContentLength = SIZE + 4096;
    // The wire's own cap (maxBodyBytes, 100 MiB by default) must be raised too.
    const big = app.listen({ maxBodyBytes: 2 * SIZE });
    const bigPort = (await big.listen(0, "127.0.0.1")).port;
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    try {
      const head = Buffer.from(
        `--${B}\r\nContent-Disposition: form-data; name="doc"; filename="big.bin"\r\n\r\n`,
      );
      const tail = Buffer.from(`\r\n--${B}--\r\n`);
      const total = head.length + SIZE + tail.length;
      const r = await new Promise<string>((resolve, reject) => {
        const sock = connect(bigPort, "127.0.0.1");
        let out = "";
        sock.on("data", (d: Buffer) => {
          out += d.toString("latin1");
          const r = parseResponse(Buffer.from(out, "latin1"));
          if (r !== undefined) {
            sock.destroy();
            resolve(`${r.status} ${r.body.toString()}`);
          }
        });
        sock.on("error", reject);
        sock.write(
          `POST /size HTTP/1.1\r\nHost: x\r\nContent-Type: ${CT}\r\nContent-Length: ${total}\r\n\r\n`,
        );
        sock.write(head);
        const chunk = Buffer.alloc(1024 * 1024, 0x43);
        let sent = 0;
        const pump = (): void => {
          while (sent < SIZE) {
            sent += chunk.length;
            if (!sock.write(chunk)) {
              sock.once("drain", pump);
              return;
            }
          }
          sock.write(tail);
        };
        pump();
      });
      assert.match(r, /^200 /);
      assert.equal((JSON.parse(r.slice(4)) as { file: { size: number } }).file.size, SIZE);
    } finally {
      clearInterval(sampler);
      app.config.maxContentLength = saved;
      await big.close();
    }
    const grewMiB = (peak - rss0) / 2 ** 20;
    assert.ok(grewMiB < 96, `RSS grew by ${grewMiB.toFixed(0)} MiB while receiving 128 MiB`);
    assert.deepEqual(readdirSync(tmp), []);
  });
});
