import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { SecureCookieSession, sessionView } from "../../src/app/sessions/secure-cookie.ts";
import {
  htmlSafeJson,
  markSafe,
  selectAutoescape,
  TemplateEnvironment,
  TemplateNotFound,
} from "../../src/app/templates/environment.ts";

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A temporary folder holding `files` (path → content). */
function folder(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "phial-tpl-"));
  roots.push(root);
  for (const [name, content] of Object.entries(files)) {
    const p = join(root, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
  return root;
}

const XSS = `<script>alert("x")</script>&'`;
const ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;";

test("inheritance, blocks, super(), includes and macros", async () => {
  const dir = folder({
    "base.html":
      "<title>{% block title %}Site{% endblock %}</title><main>{% block body %}{% endblock %}</main>",
    "page.html":
      '{% extends "base.html" %}{% import "macros.html" as m %}' +
      "{% block title %}{{ super() }} - {{ name }}{% endblock %}" +
      '{% block body %}{{ m.field("user", name) }}{% include "parts/footer.html" %}{% endblock %}',
    "macros.html": '{% macro field(n, v) %}<input name="{{ n }}" value="{{ v }}">{% endmacro %}',
    "parts/footer.html": "<footer>{{ name | upper }}</footer>",
  });
  const t = new TemplateEnvironment({ searchPath: [dir] });
  assert.equal(
    await t.render("page.html", { name: "Ann" }),
    '<title>Site - Ann</title><main><input name="user" value="Ann"><footer>ANN</footer></main>',
  );
});

test("autoescape by extension: html/htm/xml/svg escape, txt does not, strings do", async () => {
  const dir = folder({
    "a.html": "{{ v }}",
    "a.htm": "{{ v }}",
    "a.xml": "{{ v }}",
    "a.svg": "{{ v }}",
    "a.HTML": "{{ v }}",
    "a.txt": "{{ v }}",
    "mail.txt": '{% include "a.html" %}|{{ v }}',
  });
  const t = new TemplateEnvironment({ searchPath: [dir] });
  for (const n of ["a.html", "a.htm", "a.xml", "a.svg", "a.HTML"])
    assert.equal(await t.render(n, { v: XSS }), ESCAPED, n);
  assert.equal(await t.render("a.txt", { v: XSS }), XSS);
  // Each template follows its own name, also when included from another kind.
  assert.equal(await t.render("mail.txt", { v: XSS }), `${ESCAPED}|${XSS}`);
  assert.equal(await t.renderString("{{ v }}", { v: XSS }), ESCAPED);
  assert.equal(selectAutoescape(undefined), true);
  assert.equal(selectAutoescape("x.js"), false);
});

test("XSS cases: attributes, safe, markSafe, macros, tojson inside <script>", async () => {
  const t = new TemplateEnvironment({ searchPath: [] });
  assert.equal(
    await t.renderString('<a title="{{ v }}">', { v: '" onmouseover="x' }),
    '<a title="&quot; onmouseover=&quot;x">',
  );
  assert.equal(
    await t.renderString("<a title='{{ v }}'>", { v: "' onmouseover='x" }),
    "<a title='&#39; onmouseover=&#39;x'>",
  );
  assert.equal(await t.renderString("{{ v | safe }}", { v: "<b>" }), "<b>");
  assert.equal(await t.renderString("{{ v }}", { v: markSafe("<b>ok</b>") }), "<b>ok</b>");
  assert.equal(await t.renderString("{{ v | e }}", { v: "<b>" }), "&lt;b&gt;");
  assert.equal(
    await t.renderString("{% macro m(x) %}<i>{{ x }}</i>{% endmacro %}{{ m(v) }}", { v: "<b>" }),
    "<i>&lt;b&gt;</i>",
  );
  // Values with their own toString are escaped too.
  assert.equal(await t.renderString("{{ v }}", { v: { toString: () => "<x>" } }), "&lt;x&gt;");
  const out = await t.renderString("<script>var d = {{ d | tojson }};</script>", {
    d: { s: "</script><script>alert(1)</script>", q: "it's & <ok>" },
  });
  assert.equal(
    out,
    '<script>var d = {"s":"\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e","q":"it\\u0027s \\u0026 \\u003cok\\u003e"};</script>',
  );
  assert.deepEqual(JSON.parse(htmlSafeJson({ s: "</script>&'" })), { s: "</script>&'" });
  assert.equal(htmlSafeJson(undefined), "null");
  // `tojson` output is safe in a single-quoted attribute too.
  assert.equal(
    await t.renderString("<div data-x='{{ d | tojson }}'>", { d: "'" }),
    `<div data-x='"\\u0027"'>`,
  );
});

test("a missing template names itself and every folder searched", async () => {
  const a = folder({ "x.html": "" });
  const b = join(a, "nope");
  const t = new TemplateEnvironment({ searchPath: [a, b] });
  await assert.rejects(t.render("missing.html"), (e: unknown) => {
    assert.ok(e instanceof TemplateNotFound);
    assert.equal(e.templateName, "missing.html");
    assert.deepEqual(e.searched, [a, b]);
    assert.match(e.message, /"missing\.html" not found/);
    assert.ok(e.message.includes(a));
    assert.ok(e.message.includes(`${b} (does not exist)`));
    return true;
  });
  await assert.rejects(t.render(["m1.html", "m2.html"]), /"m1\.html", "m2\.html" not found/);
});

test("a missing include says which template included it", async () => {
  const dir = folder({
    "p.html": 'a{% include "gone.html" %}',
    "q.html": 'a{% include "gone.html" ignore missing %}b',
  });
  const t = new TemplateEnvironment({ searchPath: [dir] });
  await assert.rejects(t.render("p.html"), (e: unknown) => {
    assert.ok(e instanceof Error);
    assert.match(e.message, /p\.html/);
    assert.match(e.message, /"gone\.html" not found/);
    assert.ok(e.message.includes(dir));
    return true;
  });
  assert.equal(await t.render("q.html"), "ab");
});

test("names can't leave the template folders", async () => {
  const outer = folder({
    "secret.txt": "SECRET",
    "tpl/ok.html": 'ok{% include "./sub/x.html" %}',
    "tpl/sub/x.html": "!",
  });
  const t = new TemplateEnvironment({ searchPath: [join(outer, "tpl")] });
  assert.equal(await t.render("ok.html"), "ok!");
  for (const bad of [
    "../secret.txt",
    "sub/../../secret.txt",
    "/etc/passwd",
    "..\\secret.txt",
    "C:/x",
    "a\0b",
    "",
  ]) {
    await assert.rejects(t.render(bad), TemplateNotFound, JSON.stringify(bad));
  }
  const rel = folder({ "a/p.html": '{% include "../../secret.txt" %}' });
  writeFileSync(join(dirname(rel), "secret.txt"), "SECRET");
  roots.push(join(dirname(rel), "secret.txt"));
  const t2 = new TemplateEnvironment({ searchPath: [rel] });
  await assert.rejects(t2.render("a/p.html"), /not found/);
});

test("folders are searched in order; the first match wins", async () => {
  const app = folder({ "a.html": "app" });
  const bp = folder({ "a.html": "bp", "b.html": "bp-b" });
  const t = new TemplateEnvironment({ searchPath: () => [app, bp] });
  assert.equal(await t.render("a.html"), "app");
  assert.equal(await t.render("b.html"), "bp-b");
  assert.equal(await t.render(["nope.html", "b.html", "a.html"]), "bp-b");
  assert.equal(t.hasTemplate("b.html"), true);
  assert.equal(t.hasTemplate("c.html"), false);
});

test("templates are cached, and reloaded after an edit only with autoReload", async () => {
  const dir = folder({
    "a.html": "one",
    "base.html": "[{% block b %}{% endblock %}]",
    "c.html": '{% extends "base.html" %}{% block b %}c{% endblock %}',
  });
  let reload = false;
  const t = new TemplateEnvironment({ searchPath: [dir], autoReload: () => reload });
  assert.equal(await t.render("a.html"), "one");
  assert.equal(await t.render("c.html"), "[c]");
  const edit = (name: string, content: string) => {
    const p = join(dir, name);
    const before = statSync(p).mtimeMs;
    writeFileSync(p, content);
    // Make sure the mtime moves even on coarse file systems.
    const later = new Date(before + 5000);
    utimesSync(p, later, later);
  };
  edit("a.html", "two");
  assert.equal(await t.render("a.html"), "one", "cached while autoReload is off");
  reload = true;
  assert.equal(await t.render("a.html"), "two");
  edit("base.html", "<{% block b %}{% endblock %}>");
  assert.equal(await t.render("c.html"), "<c>", "a changed parent is reloaded too");
  t.clearCache();
  assert.equal(await t.render("a.html"), "two");
});

test("globals, context processors and the call's context, in that order", async () => {
  const t = new TemplateEnvironment({ searchPath: [] });
  t.addGlobal("who", "global");
  t.addGlobal("shout", (s: string) => `${s}!`);
  t.contextProcessor(() => ({ who: "processor", extra: 1 }));
  assert.equal(await t.renderString("{{ who }} {{ extra }} {{ shout('hi') }}"), "processor 1 hi!");
  assert.equal(await t.renderString("{{ who }}", { who: "call" }), "call");
  t.addFilter("double", (x: number) => x * 2);
  t.addTest("big", (x: number) => x > 10);
  assert.equal(await t.renderString("{{ 4 | double }}{% if 20 is big %}B{% endif %}"), "8B");
});

test("Jinja compatibility: True/False/None, dict(), items, loop, keyword arguments", async () => {
  const t = new TemplateEnvironment({ searchPath: [] });
  assert.equal(await t.renderString("{% if True and not False %}y{% endif %}{{ None is none }}"), "ytrue");
  assert.equal(
    await t.renderString("{% set d = dict(a=1, b=2) %}{% for k, v in d|items %}{{ k }}={{ v }};{% endfor %}"),
    "a=1;b=2;",
  );
  assert.equal(
    await t.renderString("{% for k, v in m|items %}{{ k }}{{ v }}{% endfor %}", { m: new Map([["x", 1]]) }),
    "x1",
  );
  assert.equal(
    await t.renderString("{% for x in xs %}{{ loop.index }}{% if loop.last %}.{% endif %}{% endfor %}", {
      xs: [7, 8],
    }),
    "12.",
  );
  t.addGlobal("kw", (...a: unknown[]) => JSON.stringify(a));
  assert.equal(await t.renderString("{{ kw(1, b=2) | safe }}"), '[1,{"b":2,"__keywords":true}]');
});

test("errors raised in a template reject the render with the template's name", async () => {
  const dir = folder({ "boom.html": "line1\n{{ boom() }}" });
  const t = new TemplateEnvironment({ searchPath: [dir] });
  const err = new Error("kaput");
  await assert.rejects(
    t.render("boom.html", {
      boom: () => {
        throw err;
      },
    }),
    (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.match(e.message, /boom\.html/);
      assert.match(e.message, /kaput/);
      return true;
    },
  );
  // An HTTP error (anything with a numeric status, e.g. abort(404)) comes out as itself.
  const http = Object.assign(new Error("Not Found"), { status: 404 });
  await assert.rejects(
    t.render("boom.html", {
      boom: () => {
        throw http;
      },
    }),
    (e: unknown) => e === http,
  );
  await assert.rejects(t.renderString("{% if %}"), /Template render error|expected/);
});

test("template strings are compiled once and cached (bounded)", async () => {
  const t = new TemplateEnvironment({ searchPath: [], stringCacheSize: 2 });
  for (let i = 0; i < 5; i++) assert.equal(await t.renderString(`{{ ${i} }}`), String(i));
  assert.equal(await t.renderString("{{ 4 }}"), "4");
});

test("the session view behaves like Jinja's session dict in templates", async () => {
  const s = new SecureCookieSession({ a: 1, b: "x" });
  const t = new TemplateEnvironment({ searchPath: [] });
  const out = await t.renderString(
    "{% for k, v in session %}{{ k }}={{ v }};{% endfor %}|{{ session.size }}|{{ session | length }}|" +
      "{% if session.a %}A{% endif %}|{{ session['b'] }}|{{ session.get('b') }}|{{ 'a' in session }}|{{ 'zz' in session }}",
    { session: sessionView(() => s) },
  );
  assert.equal(out, "a=1;b=x;|2|2|A|x|x|true|false");
});

test("a custom autoescape rule gets the template's name", async () => {
  const dir = folder({ "mail/a.txt": "{{ v }}", "page.txt": "{{ v }}" });
  const seen: (string | undefined)[] = [];
  const t = new TemplateEnvironment({
    searchPath: [dir],
    autoescape: (name) => {
      seen.push(name);
      return name === undefined || name.startsWith("mail/");
    },
  });
  assert.equal(await t.render("mail/a.txt", { v: "<" }), "&lt;");
  assert.equal(await t.render("page.txt", { v: "<" }), "<");
  assert.deepEqual(seen, ["mail/a.txt", "page.txt"]);
});

test("Python's dict methods work on plain objects, without shadowing real members", async () => {
  const t = new TemplateEnvironment({ searchPath: [] });
  const d = { a: 1, b: 2 };
  assert.equal(await t.renderString("{% for k, v in d.items() %}{{ k }}{{ v }}{% endfor %}", { d }), "a1b2");
  assert.equal(
    await t.renderString("{{ d.keys() | join(',') }}|{{ d.values() | join(',') }}", { d }),
    "a,b|1,2",
  );
  assert.equal(
    await t.renderString("{{ d.get('a') }}{{ d.get('zz', 'none') }}{{ d.get('zz') }}", { d }),
    "1none",
  );
  assert.equal(
    await t.renderString("{% for k, v in m.items() %}{{ k }}{{ v }}{% endfor %}", { m: new Map([["x", 1]]) }),
    "x1",
  );
  // Objects with their own members keep them; class instances are left alone.
  const own = { items: () => "own", get: "field" };
  assert.equal(await t.renderString("{{ o.items() }} {{ o.get }}", { o: own }), "own field");
  class Thing {
    get(k: string) {
      return `thing:${k}`;
    }
  }
  assert.equal(await t.renderString("{{ t.get('x') }}|{{ t.items }}", { t: new Thing() }), "thing:x|");
});

test("loading Nunjucks leaves String.prototype fast (string methods everywhere stay cheap)", async () => {
  // V8 turns String.prototype into a dictionary when Nunjucks makes its SafeString, unless the wire
  // marked it fast as it loaded. Checked with V8's own predicate in a child process (it needs a flag):
  // through the app, and with only phial/http and Nunjucks.
  const { spawnSync } = await import("node:child_process");
  const fast = `const fast = new Function("o", "return %HasFastProperties(o)");`;
  const scripts = {
    app: `${fast}
      const { Phial } = await import("./src/index.ts");
      const app = new Phial(import.meta.url);
      app.get("/", () => app.renderTemplateString("{{ x }}!", { x: "hi" }));
      const r = await app.testClient().get("/");
      console.log(JSON.stringify({ text: r.text, fast: fast(String.prototype) }));`,
    wire: `${fast}
      await import("./src/http/index.ts");
      const { createRequire } = await import("node:module");
      const nunjucks = createRequire(import.meta.url)("nunjucks");
      const text = nunjucks.renderString("{{ x }}!", { x: "hi" });
      console.log(JSON.stringify({ text, fast: fast(String.prototype) }));`,
  };
  for (const [name, script] of Object.entries(scripts)) {
    const r = spawnSync(
      process.execPath,
      [
        "--allow-natives-syntax",
        "--import",
        "tsx",
        "--conditions=phial-source",
        "--input-type=module",
        "-e",
        script,
      ],
      { encoding: "utf8", timeout: 20_000 },
    );
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    assert.deepEqual(JSON.parse(r.stdout), { text: "hi!", fast: true }, name);
  }
});
