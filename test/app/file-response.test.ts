import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  contentDisposition,
  etagListMatches,
  FileBody,
  type FilePlan,
  fileEtag,
  parseRange,
  planFileResponse,
  type SendFileOptions,
} from "../../src/app/files/file-response.ts";

const MTIME = Date.UTC(2024, 0, 2, 3, 4, 5, 678); // Tue, 02 Jan 2024 03:04:05 GMT
const LM = "Tue, 02 Jan 2024 03:04:05 GMT";
const FILE = { name: "hello.txt", size: 1000, mtimeMs: MTIME };
const ETAG = fileEtag(1000, MTIME);

function plan(
  headers: Record<string, string> = {},
  options: SendFileOptions = {},
  method = "GET",
  file = FILE,
): FilePlan {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return planFileResponse(file, { method, header: (n) => lower[n] }, options);
}

function h(p: FilePlan, name: string): string | undefined {
  return p.headers.find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
}

describe("planFileResponse", () => {
  test("a plain GET: type, length, validators, ranges, no-cache", () => {
    const p = plan();
    assert.equal(p.status, 200);
    assert.deepEqual(p.range, { start: 0, end: 999 });
    assert.equal(h(p, "content-type"), "text/plain; charset=utf-8");
    assert.equal(h(p, "content-length"), "1000");
    assert.equal(h(p, "etag"), ETAG);
    assert.match(ETAG, /^"[0-9a-f]+-[0-9a-f]+"$/);
    assert.equal(h(p, "last-modified"), LM);
    assert.equal(h(p, "accept-ranges"), "bytes");
    assert.equal(h(p, "cache-control"), "no-cache");
    assert.equal(h(p, "content-disposition"), "inline; filename=hello.txt", "Werkzeug names every file");
  });

  test("media types: guessed, charset only for text, unknown is octet-stream, explicit wins", () => {
    const t = (name: string, options: SendFileOptions = {}) =>
      h(plan({}, options, "GET", { ...FILE, name }), "content-type");
    assert.equal(t("a.png"), "image/png");
    assert.equal(t("a.css"), "text/css; charset=utf-8");
    assert.equal(t("a.svg"), "image/svg+xml; charset=utf-8");
    assert.equal(t("a.json"), "application/json");
    assert.equal(t("README"), "application/octet-stream");
    assert.equal(t("a.png", { mimetype: "image/webp" }), "image/webp");
    assert.equal(t("a.bin", { mimetype: "text/csv; charset=latin1" }), "text/csv; charset=latin1");
    assert.equal(t("data", { downloadName: "data.csv" }), "text/csv; charset=utf-8");
  });

  test("maxAge gives public caching", () => {
    assert.equal(h(plan({}, { maxAge: 3600 }), "cache-control"), "public, max-age=3600");
    assert.equal(h(plan({}, { maxAge: 0 }), "cache-control"), "no-cache");
  });

  test("etag and lastModified options", () => {
    assert.equal(h(plan({}, { etag: false }), "etag"), undefined);
    assert.equal(h(plan({}, { etag: "v1" }), "etag"), '"v1"');
    assert.equal(h(plan({}, { etag: 'W/"v1"' }), "etag"), 'W/"v1"');
    assert.throws(() => plan({}, { etag: 'a"b' }), /quote/);
    assert.equal(h(plan({}, { lastModified: null }), "last-modified"), undefined);
    assert.equal(
      h(plan({}, { lastModified: new Date(0) }), "last-modified"),
      "Thu, 01 Jan 1970 00:00:00 GMT",
    );
  });

  test("attachments and download names (RFC 6266 / 5987)", () => {
    assert.equal(
      h(plan({}, { asAttachment: true }), "content-disposition"),
      "attachment; filename=hello.txt",
    );
    assert.equal(
      h(plan({}, { asAttachment: true, downloadName: "report 2024.pdf" }), "content-disposition"),
      'attachment; filename="report 2024.pdf"',
    );
    assert.equal(h(plan({}, { downloadName: "x.txt" }), "content-disposition"), "inline; filename=x.txt");
    assert.equal(
      h(plan({}, { asAttachment: true, downloadName: "report.pdf" }), "content-type"),
      "application/pdf",
      "the type follows the download name",
    );
  });

  test("If-None-Match: 304 on a match (weak comparison), 200 otherwise; 412 for unsafe methods", () => {
    const p = plan({ "If-None-Match": ETAG });
    assert.equal(p.status, 304);
    assert.equal(p.range, undefined);
    assert.equal(h(p, "etag"), ETAG);
    assert.equal(h(p, "content-length"), undefined);
    assert.equal(plan({ "If-None-Match": `"x", W/${ETAG}` }).status, 304);
    assert.equal(plan({ "If-None-Match": "*" }).status, 304);
    assert.equal(plan({ "If-None-Match": '"other"' }).status, 200);
    assert.equal(plan({ "If-None-Match": ETAG }, {}, "HEAD").status, 304);
    assert.equal(plan({ "If-None-Match": ETAG }, {}, "POST").status, 412);
    assert.equal(plan({ "If-None-Match": ETAG }, { conditional: false }).status, 200);
  });

  test("If-Modified-Since: 304 when not newer; ignored with If-None-Match or when malformed", () => {
    assert.equal(plan({ "If-Modified-Since": LM }).status, 304);
    assert.equal(plan({ "If-Modified-Since": "Wed, 03 Jan 2024 00:00:00 GMT" }).status, 304);
    assert.equal(plan({ "If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT" }).status, 200);
    assert.equal(
      plan({ "If-Modified-Since": "Tuesday, 02-Jan-24 03:04:05 GMT" }).status,
      304,
      "RFC 850 form",
    );
    assert.equal(plan({ "If-Modified-Since": "Tue Jan  2 03:04:05 2024" }).status, 304, "asctime form");
    assert.equal(plan({ "If-Modified-Since": "garbage" }).status, 200);
    assert.equal(plan({ "If-Modified-Since": "1704164645" }).status, 200);
    assert.equal(plan({ "If-Modified-Since": LM, "If-None-Match": '"other"' }).status, 200);
    assert.equal(plan({ "If-Modified-Since": LM }, {}, "POST").status, 200);
  });

  test("If-Match and If-Unmodified-Since: 412 when the file changed", () => {
    assert.equal(plan({ "If-Match": ETAG }).status, 200);
    assert.equal(plan({ "If-Match": "*" }).status, 200);
    assert.equal(plan({ "If-Match": '"old"' }).status, 412);
    assert.equal(plan({ "If-Match": `W/${ETAG}` }).status, 412, "If-Match compares strongly");
    assert.equal(plan({ "If-Unmodified-Since": LM }).status, 200);
    assert.equal(plan({ "If-Unmodified-Since": "Mon, 01 Jan 2024 00:00:00 GMT" }).status, 412);
  });

  test("Range: one range gives 206 with Content-Range and the right length", () => {
    const p = plan({ Range: "bytes=10-19" });
    assert.equal(p.status, 206);
    assert.deepEqual(p.range, { start: 10, end: 19 });
    assert.equal(h(p, "content-range"), "bytes 10-19/1000");
    assert.equal(h(p, "content-length"), "10");
    assert.deepEqual(plan({ Range: "bytes=990-" }).range, { start: 990, end: 999 });
    assert.deepEqual(plan({ Range: "bytes=-5" }).range, { start: 995, end: 999 });
    assert.deepEqual(plan({ Range: "bytes=-5000" }).range, { start: 0, end: 999 });
    assert.deepEqual(plan({ Range: "bytes=900-99999999999999999999" }).range, { start: 900, end: 999 });
  });

  test("Range: unsatisfiable is 416 with bytes */size; malformed or multiple ranges send it all", () => {
    const p = plan({ Range: "bytes=1000-" });
    assert.equal(p.status, 416);
    assert.equal(h(p, "content-range"), "bytes */1000");
    assert.equal(p.range, undefined);
    assert.equal(plan({ Range: "bytes=-0" }).status, 416);
    assert.equal(plan({ Range: "bytes=99999999999999999999-" }).status, 416);
    for (const bad of [
      "bytes=5-1",
      "bytes=a-b",
      "bytes=",
      "bytes=-",
      "items=0-1",
      "0-1",
      "bytes=0-1,5-6",
      "bytes=1-2-3",
    ]) {
      const q = plan({ Range: bad });
      assert.equal(q.status, 200, bad);
      assert.deepEqual(q.range, { start: 0, end: 999 }, bad);
    }
  });

  test("Range is for GET only, off when not conditional, and never on an empty file", () => {
    assert.equal(plan({ Range: "bytes=0-1" }, {}, "HEAD").status, 200);
    assert.equal(plan({ Range: "bytes=0-1" }, { conditional: false }).status, 200);
    assert.equal(h(plan({}, { conditional: false }), "accept-ranges"), undefined);
    const empty = plan({ Range: "bytes=0-" }, {}, "GET", { ...FILE, size: 0 });
    assert.equal(empty.status, 200);
    assert.equal(empty.range, undefined);
    assert.equal(h(empty, "content-length"), "0");
  });

  test("If-Range: the range applies only while the validator is current", () => {
    assert.equal(plan({ Range: "bytes=0-1", "If-Range": ETAG }).status, 206);
    assert.equal(plan({ Range: "bytes=0-1", "If-Range": '"old"' }).status, 200);
    assert.equal(plan({ Range: "bytes=0-1", "If-Range": `W/${ETAG}` }).status, 200, "weak tags never match");
    assert.equal(plan({ Range: "bytes=0-1", "If-Range": LM }).status, 206);
    assert.equal(plan({ Range: "bytes=0-1", "If-Range": "Mon, 01 Jan 2024 00:00:00 GMT" }).status, 200);
    assert.equal(plan({ Range: "bytes=0-1", "If-Range": "nonsense" }).status, 200);
  });
});

describe("helpers", () => {
  test("parseRange edge cases", () => {
    assert.deepEqual(parseRange("bytes=0-0", 1), { kind: "range", start: 0, end: 0 });
    assert.deepEqual(parseRange("BYTES = 2-3", 10), { kind: "range", start: 2, end: 3 });
    assert.deepEqual(parseRange("bytes=0-1,", 10), { kind: "range", start: 0, end: 1 });
    assert.deepEqual(parseRange("bytes=+1-2", 10), { kind: "none" });
  });

  test("entity-tag lists, with commas inside tags", () => {
    assert.equal(etagListMatches('"a,b", "c"', '"a,b"', false), true);
    assert.equal(etagListMatches('"a,b", "c"', '"c"', false), true);
    assert.equal(etagListMatches('"a,b", "c"', '"b"', false), false);
    assert.equal(etagListMatches('W/"a"', '"a"', true), true);
    assert.equal(etagListMatches('W/"a"', '"a"', false), false);
    assert.equal(etagListMatches("garbage", '"a"', true), false);
  });

  test("Content-Disposition: ASCII names quoted and escaped", () => {
    assert.equal(contentDisposition("attachment", 'a"b\\c.txt'), 'attachment; filename="a\\"b\\\\c.txt"');
    assert.equal(
      contentDisposition("inline", "a\r\nSet-Cookie: x=1.txt"),
      'inline; filename="aSet-Cookie: x=1.txt"',
    );
  });

  test("Content-Disposition: non-ASCII names get a folded fallback and filename*", () => {
    assert.equal(
      contentDisposition("attachment", "résumé.pdf"),
      "attachment; filename=resume.pdf; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf",
    );
    assert.equal(
      contentDisposition("attachment", "报告 (1).txt"),
      "attachment; filename=\"__ (1).txt\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A%20%281%29.txt",
    );
    assert.equal(
      contentDisposition("attachment", "it's*.txt\u00e9"),
      "attachment; filename=it's*.txte; filename*=UTF-8''it%27s%2A.txt%C3%A9", // a token: not quoted
    );
    assert.match(contentDisposition("attachment", "a\uD800é"), /filename\*=UTF-8''a%EF%BF%BD%C3%A9$/);
  });
});

describe("FileBody", () => {
  test("streams exactly the inclusive range, lazily", async () => {
    const dir = mkdtempSync(join(tmpdir(), "phial-filebody-"));
    try {
      const p = join(dir, "f.bin");
      const data = Buffer.alloc(200_000);
      for (let i = 0; i < data.length; i++) data[i] = i % 251;
      writeFileSync(p, data);
      const read = async (b: FileBody) => {
        const parts: Buffer[] = [];
        for await (const c of b) parts.push(c);
        return Buffer.concat(parts);
      };
      assert.deepEqual(await read(new FileBody(p, 0, data.length - 1)), data);
      const mid = new FileBody(p, 70_000, 150_000);
      assert.equal(mid.length, 80_001);
      assert.deepEqual(await read(mid), data.subarray(70_000, 150_001));
      new FileBody(join(dir, "missing"), 0, 10); // never iterated: never opened, no error
      await assert.rejects(read(new FileBody(join(dir, "missing"), 0, 10)), { code: "ENOENT" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
