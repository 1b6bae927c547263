import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { Client, CookieJar } from "phial/client";
import { phialServer } from "./helpers.ts";

const u = (s: string) => new URL(s);
const NOW = Date.UTC(2026, 0, 1);

test("host-only cookies go to exactly that host", () => {
  const jar = new CookieJar();
  jar.setCookie("a=1", u("http://example.test/x/y"), NOW);
  assert.equal(jar.cookieHeader(u("http://example.test/x/z"), NOW), "a=1");
  assert.equal(jar.cookieHeader(u("http://sub.example.test/x/z"), NOW), undefined);
  // Default path is the directory of the request path.
  assert.equal(jar.cookieHeader(u("http://example.test/other"), NOW), undefined);
});

test("Domain cookies go to subdomains; a foreign or bare-TLD Domain is refused", () => {
  const jar = new CookieJar();
  assert.ok(jar.setCookie("a=1; Domain=.example.test; Path=/", u("http://www.example.test/"), NOW));
  assert.equal(jar.cookieHeader(u("http://api.example.test/"), NOW), "a=1");
  assert.equal(jar.cookieHeader(u("http://example.test/"), NOW), "a=1");
  assert.equal(jar.cookieHeader(u("http://notexample.test/"), NOW), undefined);
  assert.equal(jar.setCookie("b=1; Domain=other.test", u("http://www.example.test/"), NOW), undefined);
  assert.equal(jar.setCookie("c=1; Domain=test", u("http://www.example.test/"), NOW), undefined);
  assert.equal(jar.setCookie("d=1; Domain=0.0.1", u("http://127.0.0.1/"), NOW), undefined);
});

test("path matching follows RFC 6265 §5.1.4 and longer paths come first", () => {
  const jar = new CookieJar();
  jar.setCookie("root=1; Path=/", u("http://h.test/"), NOW);
  jar.setCookie("docs=2; Path=/docs", u("http://h.test/"), NOW + 1);
  assert.equal(jar.cookieHeader(u("http://h.test/docs/a"), NOW + 2), "docs=2; root=1");
  assert.equal(jar.cookieHeader(u("http://h.test/docs"), NOW + 2), "docs=2; root=1");
  assert.equal(jar.cookieHeader(u("http://h.test/docsx"), NOW + 2), "root=1");
});

test("Max-Age wins over Expires; expired and Max-Age=0 cookies are removed", () => {
  const jar = new CookieJar();
  jar.setCookie("a=1; Max-Age=10; Expires=Thu, 01 Jan 1970 00:00:00 GMT", u("http://h.test/"), NOW);
  assert.equal(jar.cookieHeader(u("http://h.test/"), NOW + 9_000), "a=1");
  assert.equal(jar.cookieHeader(u("http://h.test/"), NOW + 11_000), undefined);
  jar.setCookie("b=1; Expires=Wed, 21 Oct 2099 07:28:00 GMT", u("http://h.test/"), NOW);
  assert.equal(jar.cookieHeader(u("http://h.test/"), NOW), "b=1");
  jar.setCookie("b=1; Max-Age=0", u("http://h.test/"), NOW);
  assert.equal(jar.cookieHeader(u("http://h.test/"), NOW), undefined);
  jar.setCookie("c=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT", u("http://h.test/"), NOW);
  assert.equal(jar.size, 0);
});

test("Secure cookies: only set from secure origins and only sent over https", () => {
  const jar = new CookieJar();
  assert.equal(jar.setCookie("s=1; Secure", u("http://h.test/"), NOW), undefined);
  assert.ok(jar.setCookie("s=1; Secure; Path=/", u("https://h.test/"), NOW));
  assert.equal(jar.cookieHeader(u("http://h.test/"), NOW), undefined);
  assert.equal(jar.cookieHeader(u("https://h.test/"), NOW), "s=1");
});

test("__Host- and __Secure- prefixes are enforced; nameless and control-char cookies ignored", () => {
  const jar = new CookieJar();
  assert.equal(jar.setCookie("__Secure-a=1", u("https://h.test/"), NOW), undefined);
  assert.ok(jar.setCookie("__Secure-a=1; Secure", u("https://h.test/"), NOW));
  assert.equal(
    jar.setCookie("__Host-b=1; Secure; Path=/; Domain=h.test", u("https://h.test/"), NOW),
    undefined,
  );
  assert.equal(jar.setCookie("__Host-b=1; Secure; Path=/x", u("https://h.test/"), NOW), undefined);
  assert.ok(jar.setCookie("__Host-b=1; Secure; Path=/", u("https://h.test/"), NOW));
  assert.equal(jar.setCookie("=__Host-c=1", u("https://h.test/"), NOW), undefined);
  assert.equal(jar.setCookie("d=1\x01", u("https://h.test/"), NOW), undefined);
});

test("a later Set-Cookie replaces the value but keeps the creation order", () => {
  const jar = new CookieJar();
  jar.setCookie("a=1; Path=/", u("http://h.test/"), NOW);
  jar.setCookie("b=1; Path=/", u("http://h.test/"), NOW + 1);
  jar.setCookie("a=2; Path=/", u("http://h.test/"), NOW + 2);
  assert.equal(jar.cookieHeader(u("http://h.test/"), NOW + 3), "a=2; b=1");
});

test("a client with cookies: true keeps them between requests and merges with an explicit Cookie", async () => {
  const srv = await phialServer((req, res) => {
    if (req.url === "/login") res.setHeader("set-cookie", ["sid=s1; Path=/; HttpOnly", "theme=dark; Path=/"]);
    res.end(req.header("cookie") ?? "");
  });
  const c = new Client({ cookies: true, baseUrl: srv.url });
  const plain = new Client({ baseUrl: srv.url });
  try {
    await (await c.get("/login")).text();
    assert.equal(await (await c.get("/me")).text(), "sid=s1; theme=dark");
    assert.equal(
      await (await c.get("/me", { headers: { cookie: "extra=1" } })).text(),
      "extra=1; sid=s1; theme=dark",
    );
    await (await plain.get("/login")).text();
    assert.equal(await (await plain.get("/me")).text(), "");
  } finally {
    c.close();
    plain.close();
    await srv.close();
  }
});

test("no cookie for a public suffix (co.uk, github.io); a suffix that is the host itself is host-only", () => {
  const jar = new CookieJar();
  assert.equal(jar.setCookie("a=1; Domain=co.uk", u("https://shop.co.uk/"), NOW), undefined);
  assert.equal(jar.setCookie("b=1; Domain=.github.io", u("https://evil.github.io/"), NOW), undefined);
  assert.equal(jar.setCookie("c=1; Domain=com", u("https://example.com/"), NOW), undefined);
  // A registrable domain under them is fine.
  assert.equal(jar.setCookie("d=1; Domain=shop.co.uk", u("https://www.shop.co.uk/"), NOW)?.hostOnly, false);
  assert.equal(jar.cookieHeader(u("https://other.co.uk/"), NOW), undefined);
  assert.equal(jar.cookieHeader(u("https://victim.github.io/"), NOW), undefined);
  assert.equal(jar.cookieHeader(u("https://api.shop.co.uk/"), NOW), "d=1");
  // RFC 6265 §5.3 step 5: Domain equal to the host that is itself a suffix: kept, host-only.
  const own = jar.setCookie("e=1; Domain=github.io", u("https://github.io/"), NOW);
  assert.equal(own?.hostOnly, true);
  assert.equal(jar.cookieHeader(u("https://x.github.io/"), NOW), undefined);
});

test("a plain-http response can't overwrite or shadow a Secure cookie", () => {
  const jar = new CookieJar();
  assert.ok(jar.setCookie("sid=good; Secure; Path=/", u("https://bank.example/"), NOW));
  assert.equal(jar.setCookie("sid=evil; Path=/", u("http://bank.example/"), NOW), undefined);
  assert.equal(jar.setCookie("sid=evil; Path=/app", u("http://bank.example/"), NOW), undefined);
  assert.equal(jar.setCookie("sid=evil; Domain=bank.example", u("http://www.bank.example/"), NOW), undefined);
  assert.equal(jar.cookieHeader(u("https://bank.example/app"), NOW), "sid=good");
  // Over https it may be replaced, and other names are not affected.
  assert.ok(jar.setCookie("sid=new; Path=/", u("https://bank.example/"), NOW));
  assert.ok(jar.setCookie("theme=dark; Path=/", u("http://bank.example/"), NOW));
  assert.equal(jar.cookieHeader(u("https://bank.example/"), NOW), "sid=new; theme=dark");
});

test("__Host- and __Secure- prefixes are checked case-insensitively", () => {
  const jar = new CookieJar();
  for (const name of ["__Host-id", "__host-id", "__HOST-id", "__Secure-id", "__SECURE-id", "__secure-id"])
    assert.equal(jar.setCookie(`${name}=1; Path=/`, u("https://h.example/"), NOW), undefined, name);
  assert.equal(
    jar.setCookie("__host-id=1; Secure; Path=/; Domain=h.example", u("https://h.example/"), NOW),
    undefined,
  );
  assert.ok(jar.setCookie("__host-id=1; Secure; Path=/", u("https://h.example/"), NOW));
  assert.ok(jar.setCookie("__SECURE-x=1; Secure", u("https://h.example/"), NOW));
});

test("size and count limits: 4096 bytes of name and value, 180 cookies per site", () => {
  const jar = new CookieJar();
  assert.equal(jar.setCookie(`big=${"x".repeat(4094)}`, u("https://h.example/"), NOW), undefined);
  assert.ok(jar.setCookie(`big=${"x".repeat(4093)}`, u("https://h.example/"), NOW));
  // An over-long attribute is ignored, not the cookie: the path falls back to the default.
  const c = jar.setCookie(`p=1; Path=/${"a".repeat(1100)}`, u("https://h.example/dir/x"), NOW);
  assert.equal(c?.path, "/dir");
  jar.clear();
  // Subdomains count towards their site: 200 cookies over 4 hosts keep the newest 180.
  for (let i = 0; i < 200; i++)
    jar.setCookie(`c${i}=1; Path=/`, u(`https://s${i % 4}.site.example/`), NOW + i);
  const kept = jar.all(NOW + 1000);
  assert.equal(kept.length, 180);
  assert.ok(!kept.some((k) => k.name === "c0"));
  assert.ok(kept.some((k) => k.name === "c199"));
  // Another site is not affected by this one's count.
  assert.ok(jar.setCookie("other=1", u("https://other.example/"), NOW + 300));
  assert.equal(jar.all(NOW + 1000).length, 181);
});

test("the Public Suffix List (tldts, 0.7 MiB of heap) loads with the first cookie stored, not with phial/client", () => {
  // A fresh process: this file's own cookie tests have loaded it here already.
  const script = `
    import { createRequire } from "node:module";
    import { Client, CookieJar } from "phial/client";
    const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes("/tldts/"));
    new Client({ baseUrl: "http://127.0.0.1:1", cookies: true }).close();
    const jar = new CookieJar();
    const before = loaded();
    jar.setCookie("b=1; Domain=example.test", new URL("http://www.example.test/"));
    console.log(JSON.stringify({ before, after: loaded(), header: jar.cookieHeader(new URL("http://api.example.test/")) }));
  `;
  const r = spawnSync(
    process.execPath,
    ["--conditions=phial-source", "--import", "tsx", "--input-type=module", "-e", script],
    { cwd: join(import.meta.dirname, "..", ".."), encoding: "utf8", timeout: 30_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  // The first cookie stored loads the list (its Domain is checked against it, and its site counted).
  assert.deepEqual(JSON.parse(r.stdout.trim()), { before: false, after: true, header: "b=1" });
});
