// Werkzeug's typed request and response values, as a Flask port uses them: request.if_match,
// if_none_match, if_modified_since, range, cache_control, accept_charsets/encodings; response.cache_control,
// set_etag/add_etag/get_etag, last_modified/expires and make_conditional (304/412/206/416). Through the
// test client, and make_conditional over a socket with curl.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { ETags, jsonify, makeResponse, type Phial, Range, RequestCacheControl, Response } from "phial";
import type { Server } from "phial/http";
import { makeApp } from "./helpers.ts";

const run = promisify(execFile);

describe("request values", () => {
  test("ifMatch / ifNoneMatch: ETags with strong and weak comparison, * and malformed items", async () => {
    const { app } = makeApp();
    app.get("/", (req) => ({
      im: [
        req.ifMatch.contains("a"),
        req.ifMatch.contains('"b"'),
        req.ifMatch.containsWeak("w"),
        req.ifMatch.star,
      ],
      inm: [req.ifNoneMatch.containsWeak("w"), req.ifNoneMatch.contains("w"), req.ifNoneMatch.isWeak("w")],
      text: [req.ifMatch.toString(), req.ifNoneMatch.toString()],
      empty: new ETags(undefined).empty,
    }));
    const r = await app.testClient().get("/", {
      headers: { "If-Match": '"a", "b", W/"w", bogus, "c', "If-None-Match": 'W/"w"' },
    });
    assert.deepEqual(r.json, {
      im: [true, true, true, false],
      inm: [true, false, true],
      text: ['"a", "b", W/"w"', 'W/"w"'],
      empty: true,
    });
    const star = new ETags("*");
    assert.equal(star.contains("anything"), true);
    assert.equal(star.toString(), "*");
    assert.equal(new ETags('"a,b", "c"').contains("a,b"), true, "commas inside quotes");
  });

  test("ifModifiedSince / ifUnmodifiedSince / date are Dates; a bad date is undefined", async () => {
    const { app } = makeApp();
    app.get("/", (req) => ({
      ims: req.ifModifiedSince?.toISOString() ?? null,
      ius: req.ifUnmodifiedSince?.toISOString() ?? null,
      date: req.date?.toISOString() ?? null,
    }));
    const r = await app.testClient().get("/", {
      headers: {
        "If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 GMT",
        "If-Unmodified-Since": "Sunday, 06-Nov-94 08:49:37 GMT",
        Date: "12345",
      },
    });
    assert.deepEqual(r.json, {
      ims: "1994-11-06T08:49:37.000Z",
      ius: "1994-11-06T08:49:37.000Z",
      date: null,
    });
  });

  test("range: Werkzeug's Range (units, [start, stop) pairs, suffixes); malformed is undefined", async () => {
    const { app } = makeApp();
    app.get("/", (req) => {
      const r = req.range;
      return r === undefined
        ? { none: true }
        : { units: r.units, ranges: r.ranges, for100: r.rangeFor(100) ?? null };
    });
    const c = app.testClient();
    const get = async (range: string) => (await c.get("/", { headers: { Range: range } })).json;
    assert.deepEqual(await get("bytes=0-499"), { units: "bytes", ranges: [[0, 500]], for100: [0, 100] });
    assert.deepEqual(await get("bytes=10-"), { units: "bytes", ranges: [[10, null]], for100: [10, 100] });
    assert.deepEqual(await get("bytes=-30"), { units: "bytes", ranges: [[-30, null]], for100: [70, 100] });
    assert.deepEqual(await get("bytes=-300"), { units: "bytes", ranges: [[-300, null]], for100: [0, 100] });
    assert.deepEqual(await get("bytes=0-1,5-9"), {
      units: "bytes",
      ranges: [
        [0, 2],
        [5, 10],
      ],
      for100: null,
    });
    assert.deepEqual(await get("bytes=200-300"), { units: "bytes", ranges: [[200, 301]], for100: null });
    for (const bad of ["bytes=5-1", "bytes=a-b", "bytes", "=0-1", "bytes=-0", "bytes=+1-2", "bytes=1-2-3"]) {
      assert.deepEqual(await get(bad), { none: true }, bad);
    }
    assert.equal(Range.parse(`bytes=${"0-1,".repeat(100)}`), undefined, "at most 64 ranges");
    assert.equal(Range.parse("bytes=0-99")?.contentRangeFor(1000), "bytes 0-99/1000");
  });

  test("cacheControl: Werkzeug's RequestCacheControl", async () => {
    const { app } = makeApp();
    app.get("/", (req) => {
      const cc = req.cacheControl;
      return jsonify([
        cc.noCache,
        cc.maxAge ?? null,
        cc.maxStale ?? null,
        cc.minFresh ?? null,
        cc.onlyIfCached,
        cc.noStore,
      ]);
    });
    const c = app.testClient();
    const r = await c.get("/", {
      headers: { "Cache-Control": 'no-cache, max-age=0, max-stale, min-fresh="5", x=y' },
    });
    assert.deepEqual(r.json, [true, 0, true, 5, false, false]);
    assert.deepEqual((await c.get("/")).json, [false, null, null, null, false, false]);
    assert.equal(new RequestCacheControl("max-age=abc").maxAge, undefined);
    assert.equal(new RequestCacheControl('Max-Age=3, foo="a b"').toString(), 'max-age=3, foo="a b"');
  });

  test("acceptCharsets and acceptEncodings as the other accept lists (empty without the field)", async () => {
    const { app } = makeApp();
    app.get("/", (req) => ({
      charset: req.acceptCharsets.bestMatch(["utf-8", "iso-8859-1"]) ?? null,
      encoding: req.acceptEncodings.bestMatch(["br", "gzip", "identity"]) ?? null,
      values: req.acceptEncodings.values.map((v) => v.value),
    }));
    const c = app.testClient();
    const r = await c.get("/", {
      headers: {
        "Accept-Charset": "iso-8859-1;q=0.5, UTF-8",
        "Accept-Encoding": "gzip;q=0.8, br;q=0.9, *;q=0",
      },
    });
    assert.deepEqual(r.json, { charset: "utf-8", encoding: "br", values: ["br", "gzip", "*"] });
    assert.deepEqual((await c.get("/")).json, { charset: null, encoding: null, values: [] });
  });
});

describe("response values", () => {
  test("cacheControl: setting directives rewrites the field; false removes one", () => {
    const res = new Response("x");
    res.cacheControl.maxAge = 300;
    res.cacheControl.public = true;
    assert.equal(res.headers.get("cache-control"), "max-age=300, public");
    const cc = res.cacheControl;
    assert.equal(cc.maxAge, 300);
    cc.public = false;
    cc.noCache = true;
    cc.set("private", 'set-cookie, "x"');
    assert.equal(res.headers.get("cache-control"), 'max-age=300, no-cache, private="set-cookie, \\"x\\""');
    assert.equal(res.cacheControl.get("private"), 'set-cookie, "x"');
    res.cacheControl.maxAge = undefined;
    res.cacheControl.noCache = false;
    res.cacheControl.private = false;
    assert.equal(res.headers.get("cache-control"), undefined);
    assert.throws(() => {
      res.cacheControl.maxAge = -1;
    }, RangeError);
    assert.throws(() => res.cacheControl.set("x", "a\r\nb"), /control character/);
  });

  test("setEtag, getEtag, addEtag (SHA-1 of the body), lastModified and expires", () => {
    const res = new Response("hello");
    res.setEtag("v1");
    assert.equal(res.headers.get("etag"), '"v1"');
    assert.deepEqual(res.getEtag(), { etag: "v1", weak: false });
    res.setEtag("v2", true);
    assert.equal(res.headers.get("etag"), 'W/"v2"');
    res.addEtag(); // kept: one is set
    assert.deepEqual(res.getEtag(), { etag: "v2", weak: true });
    res.addEtag(true);
    assert.equal(res.headers.get("etag"), '"aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"'); // sha1("hello")
    assert.throws(() => res.setEtag('a"b'), /quote/);
    assert.throws(() => res.setEtag("a b"), /space/);
    assert.throws(() => new Response((async function* () {})()).addEtag(), /setEtag/);
    res.lastModified = new Date("2020-01-02T03:04:05Z");
    assert.equal(res.headers.get("last-modified"), "Thu, 02 Jan 2020 03:04:05 GMT");
    assert.equal(res.lastModified?.toISOString(), "2020-01-02T03:04:05.000Z");
    res.expires = undefined;
    assert.equal(res.expires, undefined);
  });
});

function conditionalApp(): Phial {
  const { app } = makeApp();
  app.get("/doc", function doc(req) {
    const res = makeResponse("0123456789abcdef");
    res.setEtag("v1");
    res.lastModified = new Date("2020-01-02T03:04:05Z");
    res.cacheControl.maxAge = 60;
    return res.makeConditional(req, { acceptRanges: true });
  });
  return app;
}

describe("makeConditional (Werkzeug's make_conditional)", () => {
  test("If-None-Match / If-Modified-Since → 304 without a body; If-Match / If-Unmodified-Since → 412", async () => {
    const c = conditionalApp().testClient();
    const full = await c.get("/doc");
    assert.equal(full.status, 200);
    assert.equal(full.text, "0123456789abcdef");
    assert.equal(full.headers.get("accept-ranges"), "bytes");
    const nm = await c.get("/doc", { headers: { "If-None-Match": 'W/"v1"' } });
    assert.equal(nm.status, 304);
    assert.equal(nm.text, "");
    assert.equal(nm.headers.get("etag"), '"v1"');
    assert.equal(nm.headers.get("cache-control"), "max-age=60");
    assert.equal(nm.headers.get("last-modified"), undefined); // RFC 9110 §15.4.5 with an ETag
    assert.equal((await c.get("/doc", { headers: { "If-None-Match": '"v0"' } })).status, 200);
    const ims = await c.get("/doc", { headers: { "If-Modified-Since": "Thu, 02 Jan 2020 03:04:05 GMT" } });
    assert.equal(ims.status, 304);
    const older = await c.get("/doc", { headers: { "If-Modified-Since": "Wed, 01 Jan 2020 00:00:00 GMT" } });
    assert.equal(older.status, 200);
    assert.equal((await c.get("/doc", { headers: { "If-Match": '"v0"' } })).status, 412);
    assert.equal(
      (await c.get("/doc", { headers: { "If-Match": 'W/"v1"' } })).status,
      412,
      "strong comparison",
    );
    assert.equal((await c.get("/doc", { headers: { "If-Match": '"v1"' } })).status, 200);
    const ius = await c.get("/doc", { headers: { "If-Unmodified-Since": "Wed, 01 Jan 2020 00:00:00 GMT" } });
    assert.equal(ius.status, 412);
    assert.equal((await c.head("/doc", { headers: { "If-None-Match": '"v1"' } })).status, 304);
    assert.equal((await c.post("/doc", { headers: { "If-None-Match": '"v1"' } })).status, 405);
  });

  test("Range → 206 with Content-Range; If-Range that no longer holds → 200; unsatisfiable → 416", async () => {
    const c = conditionalApp().testClient();
    const r = await c.get("/doc", { headers: { Range: "bytes=2-5" } });
    assert.equal(r.status, 206);
    assert.equal(r.text, "2345");
    assert.equal(r.headers.get("content-range"), "bytes 2-5/16");
    assert.equal(r.headers.get("content-length"), "4");
    assert.equal((await c.get("/doc", { headers: { Range: "bytes=-3" } })).text, "def");
    assert.equal((await c.get("/doc", { headers: { Range: "bytes=2-5", "If-Range": '"v1"' } })).status, 206);
    const changed = await c.get("/doc", { headers: { Range: "bytes=2-5", "If-Range": '"v0"' } });
    assert.equal(changed.status, 200);
    assert.equal(changed.text, "0123456789abcdef");
    const date = await c.get("/doc", {
      headers: { Range: "bytes=0-0", "If-Range": "Thu, 02 Jan 2020 03:04:05 GMT" },
    });
    assert.equal(date.text, "0");
    const bad = await c.get("/doc", { headers: { Range: "bytes=100-" } });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers.get("content-range"), "bytes */16");
    assert.equal((await c.get("/doc", { headers: { Range: "bytes=0-1,4-5" } })).status, 200, "several: all");
    assert.equal((await c.get("/doc", { headers: { Range: "lines=1-2" } })).status, 200);
  });
});

describe("over a socket, with curl", () => {
  let server: Server;
  let base: string;
  before(async () => {
    server = conditionalApp().listen();
    const { port } = await server.listen(0, "127.0.0.1");
    base = `http://127.0.0.1:${port}`;
  });
  after(() => server.close());

  test("curl -r gets the 206; curl with the ETag gets the 304", async () => {
    const { stdout: part } = await run("curl", ["-s", "-r", "10-15", `${base}/doc`]);
    assert.equal(part, "abcdef");
    const { stdout: head } = await run("curl", ["-s", "-i", "-H", 'If-None-Match: "v1"', `${base}/doc`]);
    assert.match(head, /^HTTP\/1\.1 304 /);
    assert.match(head, /\r\nETag: "v1"\r\n/i);
    assert.doesNotMatch(head, /Content-Length: [1-9]/i);
  });
});
