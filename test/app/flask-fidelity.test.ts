// A Flask app ported to Phial answers as it did on Flask. Each expected value below is what Flask 3.1 /
// Werkzeug 3.1 answer for the same request (checked side by side while writing these tests); the
// deliberate differences are listed in docs/flask.md.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import {
  int,
  jsonify,
  makeResponse,
  type Phial,
  Response,
  renderTemplate,
  renderTemplateString,
  sendFile,
  urlFor,
} from "phial";
import type { Server } from "phial/http";
import { makeApp } from "./helpers.ts";

const run = promisify(execFile);

let dir: string;
let app: Phial;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "phial-fidelity-"));
  writeFileSync(join(dir, "hello.txt"), "hello\n");
  writeFileSync(join(dir, "page.html"), "<p>{{ name }}</p>\n");
  writeFileSync(join(dir, "crlf.txt"), "a\r\nb\rc\n{{ x }}\r\n{% if true %}\r\nd\r\n{% endif %}\r\n");
  app = makeApp({ templateFolder: dir }).app;
  app.get("/", function index() {
    return "root";
  });
  app.get("/set", function set(req) {
    const res = makeResponse("ok");
    res.setCookie("v", req.args.get("v") ?? "");
    return res;
  });
  app.get("/age", function age() {
    const res = makeResponse("ok");
    res.setCookie("a", "1", { maxAge: 60 });
    res.setCookie("b", "2", { expires: 1_900_000_000 });
    return res;
  });
  app.get("/get", function get(req) {
    return { v: req.cookies.get("v") ?? null };
  });
  app.get("/p/<path:x>", function p(req) {
    return `p=${req.params.x}`;
  });
  app.get("/proxy/<path:url>", function proxy(req) {
    return `url=${req.params.url}`;
  });
  app.get("/s/<name>", function s(req) {
    return `s=${req.params.name}`;
  });
  app.get("/dir/", function folder() {
    return "dir";
  });
  app.get("/build", function build() {
    return urlFor("s", { name: "a/b c" });
  });
  app.route("/both", { methods: ["GET", "POST"] }, function both() {
    return "both";
  });
  app.post("/json", function json(req) {
    return { got: req.json as object };
  });
  app.get("/accept", function accept(req) {
    return {
      mimetypes: req.acceptMimetypes.values.map((v) => v.value),
      best: req.acceptMimetypes.bestMatch(["text/html", "application/json"]) ?? null,
      languages: req.acceptLanguages.values.map((v) => v.value),
      lang: req.acceptLanguages.bestMatch(["en", "fr"]) ?? null,
    };
  });
  app.get("/headers", function headers(req) {
    return { get: req.headers.get("x-a") ?? null, all: req.headers.getAll("x-a"), root: req.urlRoot };
  });
  app.get("/int", function integers(req) {
    return { page: req.args.get("page", { type: int, default: 1 }) };
  });
  app.post("/upload", function upload(req) {
    return jsonify([...req.files.entries()].map(([k, f]) => [k, f.contentType, f.mimetype]));
  });
  app.get("/nothing", function nothing() {
    return new Response(null, { status: 204 });
  });
  app.get("/file", function file() {
    return sendFile(join(dir, "hello.txt"), { maxAge: 60 });
  });
  app.get("/t", function tmpl() {
    return renderTemplate("page.html", { name: "<ada>" });
  });
  app.get("/with", function withTag() {
    return renderTemplateString(
      "{% set a = 'out' %}{% with a = 1, b = a %}{{ a }}/{{ b }}{% set c = 3 %}{% endwith %}/{{ a }}/{{ c }}\n",
    );
  });
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe("1. cookies", () => {
  test("any value is set (quoted as Werkzeug does) and round-trips; quoted values are unescaped", async () => {
    const c = app.testClient();
    for (const v of ["a;b", "with space", 'say "hi"', "back\\slash", "深", "plain-%41"]) {
      const set = await c.get("/set", { query: { v } });
      assert.equal(set.status, 200, `${JSON.stringify(v)} is not a 500`);
      assert.equal(((await c.get("/get")).json as { v: string }).v, v, JSON.stringify(v));
    }
    const r = await c.get("/set", { query: { v: "a;b" } });
    assert.equal(r.headers.get("set-cookie"), 'v="a\\073b"; Path=/');
    // what Werkzeug writes, read back by a fresh client
    const raw = app.testClient();
    const got = await raw.get("/get", { headers: { Cookie: 'v="q\\"q"' } });
    assert.deepEqual(got.json, { v: 'q"q' });
    const octal = await raw.get("/get", { headers: { Cookie: 'v="\\346\\267\\261"' } });
    assert.deepEqual(octal.json, { v: "深" });
  });

  test("maxAge also writes Expires; expires takes epoch seconds", async () => {
    const [a, b] = (await app.testClient().get("/age")).headers.getSetCookie();
    const m = /^a=1; Expires=([^;]+); Max-Age=60; Path=\/$/.exec(a!);
    assert.ok(m, a);
    const left = Date.parse(m[1]!) - Date.now();
    assert.ok(left > 55_000 && left <= 61_000, `${left} ms`);
    assert.equal(b, "b=2; Expires=Sun, 17 Mar 2030 17:46:40 GMT; Path=/");
  });

  test("a file response with maxAge also sends Expires", async () => {
    const r = await app.testClient().get("/file");
    assert.equal(r.headers.get("cache-control"), "public, max-age=60");
    const left = Date.parse(r.headers.get("expires") ?? "") - Date.now();
    assert.ok(left > 55_000 && left <= 61_000, `${left} ms`);
  });
});

describe("2. routing", () => {
  test("a <path:> keeps a trailing slash and inner //; // serves /", async () => {
    const c = app.testClient();
    assert.equal((await c.get("/p/a/b/")).text, "p=a/b/");
    assert.equal((await c.get("/proxy/http://x")).text, "url=http://x");
    assert.equal((await c.get("/proxy/http://x/y//z")).text, "url=http://x/y//z");
    const root = await c.get("//");
    assert.equal(root.status, 200);
    assert.equal(root.text, "root");
    assert.equal((await c.get("/s/a//b")).status, 404, "a one-segment rule: merged /s/a/b matches nothing");
  });

  test("urlFor builds a string value containing / as Werkzeug does", async () => {
    const r = await app.testClient().get("/build");
    assert.equal(r.status, 200);
    assert.equal(r.text, "/s/a/b%20c");
  });

  test("an automatic 308 carries the Redirecting page; its link is the percent-encoded Location", async () => {
    const c = app.testClient();
    const r = await c.get("/dir", { query: { q: "<x>" } });
    assert.equal(r.status, 308);
    assert.equal(r.headers.get("location"), "/dir/?q=%3Cx%3E");
    assert.equal(r.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(
      r.text,
      "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n" +
        '<p>You should be redirected automatically to the target URL: <a href="/dir/?q=%3Cx%3E">/dir/?q=%3Cx%3E</a>. If not, click the link.\n',
    );
  });
});

describe("3. requests", () => {
  test("JSON with a UTF-8 BOM parses", async () => {
    const r = await app.testClient().post("/json", {
      data: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a": 1}')]),
      headers: { "Content-Type": "application/json" },
    });
    assert.deepEqual(r.json, { got: { a: 1 } });
  });

  test("no Accept / Accept-Language: empty lists, no best match", async () => {
    const c = app.testClient();
    assert.deepEqual((await c.get("/accept")).json, { mimetypes: [], best: null, languages: [], lang: null });
    const sent = await c.get("/accept", { headers: { Accept: "application/json", "Accept-Language": "fr" } });
    assert.deepEqual(sent.json, {
      mimetypes: ["application/json"],
      best: "application/json",
      languages: ["fr"],
      lang: "fr",
    });
  });

  test("a repeated field: get joins the values, getAll lists them; urlRoot", async () => {
    const r = await app.testClient().get("/headers", {
      headers: [
        ["X-A", "1"],
        ["X-A", "2"],
      ],
    });
    assert.deepEqual(r.json, { get: "1, 2", all: ["1", "2"], root: "http://localhost/" });
  });

  test("an uploaded part's content type keeps its parameters (also split byte by byte)", async () => {
    const B = "b0undary";
    const body =
      `--${B}\r\nContent-Disposition: form-data; name="title"\r\n\r\nhi\r\n` +
      `--${B}\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n` +
      `--${B}\r\nContent-Disposition: form-data; name="g"; filename="b.bin"\r\n\r\n--x\r\n` +
      `--${B}\r\nContent-Type: image/png\r\nContent-Disposition: form-data; name="h"; filename="c.png"\r\n\r\nPNG\r\n` +
      `--${B}--\r\n`;
    const headers = { "Content-Type": `multipart/form-data; boundary=${B}` };
    const expected = [
      ["f", "text/plain; charset=utf-8", "text/plain"],
      ["g", "text/plain", "text/plain"],
      ["h", "image/png", "image/png"],
    ];
    const c = app.testClient();
    assert.deepEqual((await c.post("/upload", { data: body, headers })).json, expected);
    async function* bytes() {
      for (const b of Buffer.from(body)) yield Buffer.from([b]);
    }
    assert.deepEqual((await c.post("/upload", { data: bytes(), headers })).json, expected);
  });

  test("args.get with type int reads numbers as Python's int()", async () => {
    const c = app.testClient();
    const page = async (v: string) =>
      ((await c.get("/int", { query: { page: v } })).json as { page: number }).page;
    assert.equal(await page("7"), 7);
    assert.equal(await page(" +7 "), 7);
    assert.equal(await page("1_000"), 1000);
    assert.equal(await page("-3"), -3);
    for (const bad of ["1.5", "0x10", "1e3", "", "abc", "1__0"]) assert.equal(await page(bad), 1, bad);
  });
});

describe("4. responses", () => {
  test("automatic OPTIONS and bodiless responses carry the default Content-Type", async () => {
    const c = app.testClient();
    const o = await c.open("OPTIONS", "/both");
    assert.equal(o.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(o.headers.get("allow"), "GET, HEAD, OPTIONS, POST");
    const n = await c.get("/nothing");
    assert.equal(n.status, 204);
    assert.equal(n.headers.get("content-type"), "text/html; charset=utf-8");
  });

  test("file responses are named inline; a 304 with an ETag has no Last-Modified", async () => {
    const c = app.testClient();
    const r = await c.get("/file");
    assert.equal(r.headers.get("content-disposition"), "inline; filename=hello.txt");
    assert.ok(r.headers.get("last-modified"));
    const again = await c.get("/file", { headers: { "If-None-Match": r.headers.get("etag")! } });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get("etag"), r.headers.get("etag"));
    assert.equal(again.headers.get("last-modified"), undefined);
    assert.equal(again.headers.get("content-type"), undefined);
  });
});

describe("5. templates", () => {
  test("a template's final newline is dropped, as Jinja's default", async () => {
    assert.equal((await app.testClient().get("/t")).text, "<p>&lt;ada&gt;</p>");
  });

  test("line ends: \\r\\n and \\r in a template are \\n (Jinja's newline_sequence), values keep theirs", async () => {
    // Jinja 3.1 renders crlf.txt with x="y\r\nz" as "a\nb\nc\ny\r\nz\n\nd\n" (the final newline dropped).
    const out = await app.renderTemplate("crlf.txt", { x: "y\r\nz" });
    assert.equal(out, "a\nb\nc\ny\r\nz\n\nd\n");
    const s = await app.renderTemplateString("1\r\n2\r\n", {});
    assert.equal(s, "1\n2");
  });

  test("{% with %}: values from outside, a scope of its own", async () => {
    // Jinja 3.1 renders the same template as "1/out/out/"
    assert.equal((await app.testClient().get("/with")).text, "1/out/out/");
  });
});

describe("over a socket, with curl", () => {
  let server: Server;
  let base: string;
  before(async () => {
    server = app.listen();
    const { port } = await server.listen(0, "127.0.0.1");
    base = `http://127.0.0.1:${port}`;
  });
  after(() => server.close());

  test("cookies, path values, // and the 308 page as curl sees them", async () => {
    const jar = join(dir, "jar.txt");
    await run("curl", ["-s", "-c", jar, "-o", "/dev/null", `${base}/set?v=a%3Bb%20c`]);
    const { stdout: got } = await run("curl", ["-s", "-b", jar, `${base}/get`]);
    assert.deepEqual(JSON.parse(got), { v: "a;b c" });
    const { stdout: p } = await run("curl", ["-s", "--path-as-is", `${base}/proxy/http://x//y/`]);
    assert.equal(p, "url=http://x//y/");
    const { stdout: root } = await run("curl", ["-s", "--path-as-is", `${base}//`]);
    assert.equal(root, "root");
    const { stdout: head } = await run("curl", ["-s", "-i", `${base}/dir`]);
    assert.match(head, /^HTTP\/1\.1 308 /);
    assert.match(head, /\r\nContent-Type: text\/html; charset=utf-8\r\n/i);
    assert.match(head, /\r\nLocation: \/dir\/\r\n/i);
    assert.match(head, /<a href="\/dir\/">\/dir\/<\/a>/);
  });
});
