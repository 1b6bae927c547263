import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  isMultipartFormData,
  MultipartError,
  type MultipartLimits,
  type ParsedMultipart,
  parseMultipart,
  type UploadedFile,
} from "../../src/app/files/multipart.ts";
import { secureFilename } from "../../src/app/files/secure-filename.ts";

const B = "----phialTestBoundary7MA4YWxk";
const CT = `multipart/form-data; boundary=${B}`;

type Part = { name?: string; filename?: string; type?: string; data: string | Buffer; rawHeaders?: string };

function body(parts: Part[], boundary = B): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\n`;
    if (p.rawHeaders !== undefined) head += p.rawHeaders;
    else {
      head += "Content-Disposition: form-data";
      if (p.name !== undefined) head += `; name="${p.name}"`;
      if (p.filename !== undefined) head += `; filename="${p.filename}"`;
      head += "\r\n";
      if (p.type !== undefined) head += `Content-Type: ${p.type}\r\n`;
    }
    out.push(Buffer.from(`${head}\r\n`), Buffer.from(p.data), Buffer.from("\r\n"));
  }
  out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}

/** Yields `buf` in pieces of `size` bytes. */
async function* chunks(buf: Buffer, size = 64 * 1024): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

/** A seeded PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pattern(n: number, seed = 1): Buffer {
  const rnd = prng(seed);
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (rnd() * 256) | 0;
  return b;
}

let tmp: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), "phial-multipart-"));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

function parse(buf: Buffer, limits: MultipartLimits = {}, size?: number, ct = CT): Promise<ParsedMultipart> {
  return parseMultipart(ct, chunks(buf, size), { tempDir: tmp, ...limits });
}

async function refused(p: Promise<unknown>, status: 400 | 413, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof MultipartError, `expected a MultipartError, got ${String(err)}`);
    assert.equal(err.status, status, err.message);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  });
  assert.deepEqual(readdirSync(tmp), [], "no temp file is left behind");
}

describe("parseMultipart: well-formed bodies", () => {
  test("fields and files, in order, with UTF-8 names and the file name as sent", async () => {
    const form = await parse(
      body([
        { name: "title", data: "Hello, 世界" },
        { name: "tag", data: "a" },
        { name: "tag", data: "b" },
        { name: "doc", filename: "C:\\Users\\me\\résumé.txt", type: "Text/Plain", data: "resume" },
        { name: "empty", filename: "", type: "application/octet-stream", data: "" },
        { name: "notype", filename: "x.bin", data: "x" },
        { name: "", rawHeaders: 'Content-Disposition: form-data; name="ünï"\r\n', data: "u" },
      ]),
    );
    assert.deepEqual(form.fields, [
      ["title", "Hello, 世界"],
      ["tag", "a"],
      ["tag", "b"],
      ["ünï", "u"],
    ]);
    assert.deepEqual(
      form.files.map(([k, f]) => [k, f.filename, f.mimetype, f.size]),
      [
        ["doc", "C:\\Users\\me\\résumé.txt", "text/plain", 6],
        ["empty", "", "application/octet-stream", 0],
        ["notype", "x.bin", "text/plain", 1],
      ],
    );
    const doc = form.files[0]![1];
    assert.equal(doc.name, "doc");
    assert.equal((await doc.read()).toString(), "resume");
    assert.equal(secureFilename(doc.filename), "C_Users_me_resume.txt");
    assert.equal(String(doc), '<FileStorage "C:\\\\Users\\\\me\\\\résumé.txt" (text/plain, 6 bytes)>');
    await form.cleanup();
  });

  test("byte-by-byte input gives the same result", async () => {
    const buf = body([
      { name: "a", data: "1\r\n--not-a-boundary\r\n" },
      { name: "f", filename: "f.bin", data: pattern(3000) },
    ]);
    const form = await parse(buf, {}, 1);
    assert.deepEqual(form.fields, [["a", "1\r\n--not-a-boundary\r\n"]]);
    assert.deepEqual(await form.files[0]![1].read(), pattern(3000));
  });

  test("small files stay in memory; large ones go to a private temp file removed by cleanup()", async () => {
    const big = pattern(300_000, 7);
    const form = await parse(
      body([
        { name: "small", filename: "s.txt", data: "tiny" },
        { name: "big", filename: "b.bin", data: big },
      ]),
      { memoryFileSize: 100_000 },
    );
    const small = form.files[0]![1] as UploadedFile;
    const large = form.files[1]![1] as UploadedFile;
    assert.equal(small.tempPath, undefined);
    assert.ok(large.tempPath !== undefined);
    assert.match(large.tempPath, /phial-upload-[0-9a-f]{32}$/);
    assert.equal(statSync(large.tempPath).mode & 0o777, 0o600);
    assert.equal(large.size, big.length);
    assert.deepEqual(await large.read(), big);
    const streamed: Buffer[] = [];
    for await (const c of large.stream()) streamed.push(c);
    assert.deepEqual(Buffer.concat(streamed), big);
    const streamedSmall: Buffer[] = [];
    for await (const c of small.stream()) streamedSmall.push(c);
    assert.equal(Buffer.concat(streamedSmall).toString(), "tiny");

    const out = mkdtempSync(join(tmpdir(), "phial-save-"));
    try {
      await large.save(join(out, "b.bin"));
      await small.save(join(out, "s.txt"));
      assert.deepEqual(readFileSync(join(out, "b.bin")), big);
      assert.equal(readFileSync(join(out, "s.txt"), "utf8"), "tiny");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    assert.equal(readdirSync(tmp).length, 1);
    await form.cleanup();
    await form.cleanup();
    assert.deepEqual(readdirSync(tmp), []);
  });

  test("the memory budget sends files to disk once small files add up", async () => {
    const parts: Part[] = [];
    for (let i = 0; i < 5; i++) parts.push({ name: `f${i}`, filename: `${i}.bin`, data: pattern(40_000, i) });
    const form = await parse(body(parts), { memoryFileSize: 50_000, maxMemory: 100_000 });
    const onDisk = form.files.map(([, f]) => (f as UploadedFile).tempPath !== undefined);
    assert.deepEqual(onDisk, [false, false, true, true, true]);
    for (let i = 0; i < 5; i++) assert.deepEqual(await form.files[i]![1].read(), pattern(40_000, i));
    await form.cleanup();
    assert.deepEqual(readdirSync(tmp), []);
  });

  test("limits are inclusive: exactly at each limit is accepted", async () => {
    const form = await parse(
      body([
        { name: "a", data: "x".repeat(10) },
        { name: "f", filename: "f", data: "y".repeat(20) },
        { name: "n".repeat(8), data: "" },
      ]),
      { maxFieldSize: 10, maxFileSize: 20, maxParts: 3, maxFields: 2, maxFiles: 1, maxFieldNameSize: 8 },
    );
    assert.equal(form.fields.length, 2);
    assert.equal(form.files[0]![1].size, 20);
  });

  test("a large field made of CR/LF runs parses correctly (Werkzeug CVE-2023-46136 shape)", async () => {
    const v = "\r\n".repeat(500_000);
    const form = await parse(body([{ name: "crlf", data: v }]), { maxFieldSize: 2_000_000 });
    assert.equal(form.fields[0]![1], v);
  });

  test("isMultipartFormData", () => {
    assert.equal(isMultipartFormData("Multipart/Form-Data ; boundary=x"), true);
    assert.equal(isMultipartFormData("multipart/mixed; boundary=x"), false);
    assert.equal(isMultipartFormData(undefined), false);
  });
});

describe("parseMultipart: limits (413)", () => {
  test("a file over maxFileSize", async () => {
    await refused(
      parse(body([{ name: "f", filename: "f", data: pattern(200_000) }]), {
        maxFileSize: 100_000,
        memoryFileSize: 1000,
      }),
      413,
      /larger than 100000 bytes/,
    );
  });
  test("a field over maxFieldSize (maxFormMemorySize)", async () => {
    await refused(
      parse(body([{ name: "a", data: "x".repeat(11) }]), { maxFieldSize: 10 }),
      413,
      /"a" is larger/,
    );
  });
  test("too many files, fields, parts", async () => {
    const files = Array.from({ length: 3 }, (_, i): Part => ({ name: "f", filename: `${i}`, data: "z" }));
    await refused(parse(body(files), { maxFiles: 2 }), 413, /more than 2 files/);
    const fields = Array.from({ length: 3 }, (): Part => ({ name: "a", data: "z" }));
    await refused(parse(body(fields), { maxFields: 2 }), 413, /more than 2 fields/);
    await refused(parse(body([...fields, ...files]), { maxParts: 5 }), 413, /more than 5 parts/);
  });
  test("a field name over maxFieldNameSize", async () => {
    await refused(
      parse(body([{ name: "n".repeat(9), data: "" }]), { maxFieldNameSize: 8 }),
      413,
      /field name/,
    );
  });
  test("a body over maxBodySize, even when spooling to disk", async () => {
    await refused(
      parse(body([{ name: "f", filename: "f", data: pattern(500_000) }]), {
        maxBodySize: 300_000,
        memoryFileSize: 1000,
      }),
      413,
      /maxContentLength/,
    );
  });
  test("an endless upload is refused as soon as a limit is passed, without reading on", async () => {
    let pulled = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      yield Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="f"; filename="f"\r\n\r\n`);
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      for (;;) {
        pulled++;
        yield chunk;
      }
    }
    await refused(
      parseMultipart(CT, endless(), { tempDir: tmp, maxFileSize: 1_000_000, memoryFileSize: 1000 }),
      413,
    );
    assert.ok(pulled < 40, `read ${pulled} chunks`);
    pulled = 0;
    await refused(parseMultipart(CT, endless(), { tempDir: tmp, maxBodySize: 1_000_000 }), 413);
    assert.ok(pulled < 40, `read ${pulled} chunks`);
  });

  test("100 000 empty parts stop at maxParts (Werkzeug CVE-2023-25577 shape)", async () => {
    const one = Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\n\r\n`);
    const many = Buffer.concat([...Array.from({ length: 100_000 }, () => one), Buffer.from(`--${B}--\r\n`)]);
    await refused(parse(many, { maxParts: 1000 }), 413, /more than 1000 parts/);
    const headless = Buffer.from(`--${B}\r\nX-Other: y\r\n\r\nx\r\n`); // skipped by busboy, still counted
    const skipped = Buffer.concat([
      ...Array.from({ length: 100_000 }, () => headless),
      Buffer.from(`--${B}--\r\n`),
    ]);
    await refused(parse(skipped, { maxParts: 1000 }), 413, /parts/);
  });
});

describe("parseMultipart: malformed bodies (400)", () => {
  test("no boundary, or not multipart at all", async () => {
    await refused(parse(body([]), {}, undefined, "multipart/form-data"), 400, /boundary/);
    await refused(parse(body([]), {}, undefined, "multipart/form-data; charset=utf-8"), 400, /boundary/);
    await refused(parse(body([]), {}, undefined, "text/plain"), 400);
    await refused(parse(body([]), {}, undefined, ""), 400);
  });
  test("a truncated body, also in the middle of a spooled file", async () => {
    const full = body([
      { name: "a", data: "1" },
      { name: "f", filename: "f", data: pattern(300_000) },
    ]);
    await refused(parse(full.subarray(0, full.length - 10)), 400, /ended before its closing boundary/);
    await refused(parse(full.subarray(0, 200_000), { memoryFileSize: 1000 }), 400, /truncated/);
    await refused(parse(Buffer.alloc(0)), 400);
    await refused(parse(Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="a"`)), 400);
  });
  test("a part header over 16 KiB", async () => {
    const huge = `Content-Disposition: form-data; name="a"\r\nX-Pad: ${"p".repeat(20_000)}\r\n`;
    await refused(parse(body([{ rawHeaders: huge, data: "x" }])), 400, /header/);
    const manyHeaders = `Content-Disposition: form-data; name="a"\r\n${"X: y\r\n".repeat(3000)}`;
    await refused(parse(body([{ rawHeaders: manyHeaders, data: "x" }])), 400, /header/);
  });
  test("a malformed part header", async () => {
    await refused(
      parse(body([{ rawHeaders: "Content-Disposition form-data\r\n", data: "x" }])),
      400,
      /header/,
    );
  });
  test("empty or missing field names (multer CVE-2025-48997 shape)", async () => {
    await refused(parse(body([{ name: "", data: "x" }])), 400, /no field name/);
    await refused(parse(body([{ data: "x" }])), 400, /no field name/);
    await refused(parse(body([{ name: "", filename: "a.txt", data: "x" }])), 400, /no field name/);
    await refused(parse(body([{ filename: "a.txt", data: pattern(200_000) }]), { memoryFileSize: 10 }), 400);
  });
  test("a body stream that fails: its own error, and no temp file left", async () => {
    async function* broken(): AsyncGenerator<Buffer> {
      yield body([{ name: "f", filename: "f", data: pattern(100_000) }]).subarray(0, 50_000);
      throw new Error("socket reset");
    }
    await assert.rejects(
      parseMultipart(CT, broken(), { tempDir: tmp, memoryFileSize: 10 }),
      /^Error: socket reset$/,
    );
    assert.deepEqual(readdirSync(tmp), [], "no temp file is left behind");
  });
});

describe("parseMultipart: fuzz", () => {
  test("mutated bodies either parse or are refused with 400/413, never anything else", async () => {
    const rnd = prng(2026);
    const base = body([
      { name: "a", data: "hello" },
      { name: "f", filename: "f.txt", type: "text/plain", data: pattern(2000, 3) },
      { name: "b", data: "world" },
    ]);
    for (let i = 0; i < 300; i++) {
      const buf = Buffer.from(base);
      const edits = 1 + Math.floor(rnd() * 8);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rnd() * buf.length);
        const op = rnd();
        if (op < 0.6) buf[at] = Math.floor(rnd() * 256);
        else if (op < 0.8) buf[at] = [0x0d, 0x0a, 0x2d, 0x22, 0x3b, 0x00][Math.floor(rnd() * 6)]!;
        else buf.copy(buf, at, Math.floor(rnd() * buf.length), Math.floor(rnd() * buf.length));
      }
      const cut = rnd() < 0.2 ? buf.subarray(0, Math.floor(rnd() * buf.length)) : buf;
      try {
        const form = await parse(
          cut,
          { memoryFileSize: 500, maxFieldSize: 1000 },
          1 + Math.floor(rnd() * 700),
        );
        await form.cleanup();
      } catch (err) {
        assert.ok(err instanceof MultipartError, `iteration ${i}: ${String(err)}`);
        assert.ok(err.status === 400 || err.status === 413);
      }
      assert.deepEqual(readdirSync(tmp), [], `iteration ${i} left a temp file`);
    }
  });
});

describe("secureFilename", () => {
  const cases: [string, string][] = [
    ["My cool movie.mov", "My_cool_movie.mov"],
    ["../../../etc/passwd", "etc_passwd"],
    ["..\\..\\windows\\system32", "windows_system32"],
    ["i contain cool \u00fcml\u00e4uts.txt", "i_contain_cool_umlauts.txt"],
    ["naïve résumé.pdf", "naive_resume.pdf"],
    ["报告.txt", "txt"],
    ["..", ""],
    ["", ""],
    ["._.hidden_", "hidden"],
    ["a\0b\r\n.txt", "ab_.txt"],
    ["NUL", "_NUL"],
    ["con.txt", "_con.txt"],
    ["Com1.tar.gz", "_Com1.tar.gz"],
    ["console.txt", "console.txt"],
    ['a<>:"|?*b.txt', "ab.txt"],
    ["tab\tand  spaces", "tab_and_spaces"],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(secureFilename(input), expected);
    });
  }
  test("long names are cut to 255 characters, extension kept", () => {
    const s = secureFilename(`${"a".repeat(400)}.tar.gz`);
    assert.equal(s.length, 255);
    assert.ok(s.endsWith("a.gz"));
  });
});
