import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import {
  abort,
  Blueprint,
  flash,
  markSafe,
  Phial,
  type Request,
  redirect,
  renderTemplate,
  renderTemplateString,
  TemplateNotFound,
} from "../../src/index.ts";

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "phial-app-tpl-"));
  roots.push(root);
  for (const [name, content] of Object.entries(files)) {
    const p = join(root, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
  return root;
}

const FILES = {
  "templates/base.html":
    "<title>{% block title %}App{% endblock %}</title>" +
    "{% for m in get_flashed_messages() %}<p class=flash>{{ m }}</p>{% endfor %}" +
    "{% block body %}{% endblock %}",
  "templates/index.html":
    '{% extends "base.html" %}{% from "forms.html" import field %}' +
    "{% block title %}Home - {{ super() }}{% endblock %}" +
    "{% block body %}<a href=\"{{ url_for('profile', id=3) }}\">me</a>" +
    '<a href="{{ urlFor("profile", {id: 4, tab: "x y"}) }}">me</a>' +
    '{{ field("q", request.args.get("q")) }}{% include "footer.html" %}{% endblock %}',
  "templates/forms.html":
    '{% macro field(name, value) %}<input name="{{ name }}" value="{{ value }}">{% endmacro %}',
  "templates/footer.html": "<footer>{{ config.siteName }} {{ g.who }} {{ session.user }}</footer>",
  "templates/note.txt": "Hi {{ name }}",
  "admin/templates/admin/page.html": "admin {{ request.endpoint }} {{ url_for('.page') }}",
  "admin/templates/index.html": "blueprint copy (the app's wins)",
};

function makeApp(root: string) {
  const app = new Phial(root, { name: "tpl" });
  app.config.secretKey = "k";
  app.config.siteName = "Site";
  app.logger = { info() {}, warn() {}, error() {} };
  app.beforeRequest((req) => {
    req.g.who = "G";
    return undefined;
  });
  app.get("/", function index() {
    return renderTemplate("index.html");
  });
  app.get("/user/<int:id>", function profile(req: Request<{ id: number }>) {
    return `user ${req.params.id}`;
  });
  app.post("/login", function login(req: Request) {
    req.session.set("user", req.form.get("user") ?? "");
    flash("Welcome <b>back</b>");
    return redirect("/");
  });
  app.get("/note", function note(req: Request) {
    return renderTemplate("note.txt", { name: req.args.get("name") });
  });
  app.get("/str", function str(req: Request) {
    return renderTemplateString("<p>{{ v }}</p>{{ s }}", { v: req.args.get("v"), s: markSafe("<i>ok</i>") });
  });
  app.get("/missing", function missing() {
    return renderTemplate("nope.html");
  });
  const admin = new Blueprint("admin", { urlPrefix: "/admin", templateFolder: "admin/templates", root });
  admin.get("/page", function page() {
    return renderTemplate("admin/page.html");
  });
  app.registerBlueprint(admin);
  return app;
}

test("inheritance, macros, includes, urlFor (both spellings), request, g, config, session, flash", async () => {
  const c = makeApp(tree(FILES)).testClient();
  await c.post("/login", { form: { user: "<ann>" } });
  const r = await c.get("/", { query: { q: '"><script>x</script>' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(
    r.text,
    "<title>Home - App</title>" +
      "<p class=flash>Welcome &lt;b&gt;back&lt;/b&gt;</p>" +
      '<a href="/user/3">me</a><a href="/user/4?tab=x+y">me</a>' +
      '<input name="q" value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;">' +
      "<footer>Site G &lt;ann&gt;</footer>",
  );
  assert.equal(r.headers.get("vary"), "Cookie", "the template read the session");
  const again = await c.get("/");
  assert.doesNotMatch(again.text, /flash/, "flashed once");
});

test("autoescape: on for .html and template strings, off for .txt", async () => {
  const c = makeApp(tree(FILES)).testClient();
  assert.equal((await c.get("/note", { query: { name: "<b>" } })).text, "Hi <b>");
  assert.equal((await c.get("/str", { query: { v: "<script>" } })).text, "<p>&lt;script&gt;</p><i>ok</i>");
});

test("blueprint template folders are searched after the app's; relative urlFor in blueprint templates", async () => {
  const c = makeApp(tree(FILES)).testClient();
  assert.equal((await c.get("/admin/page")).text, "admin admin.page /admin/page");
  assert.match((await c.get("/")).text, /<title>Home/);
});

test("a missing template is a 500 whose error names the folders searched", async () => {
  const root = tree(FILES);
  const app = makeApp(root);
  const logged: unknown[] = [];
  app.logger = { info() {}, warn() {}, error: (_m, e) => logged.push(e) };
  const r = await app.testClient().get("/missing");
  assert.equal(r.status, 500);
  const err = logged.find((e) => e instanceof TemplateNotFound) as TemplateNotFound;
  assert.ok(err !== undefined);
  assert.deepEqual(err.searched, [join(root, "templates"), join(root, "admin/templates")]);
  await assert.rejects(app.renderTemplate("nope.html"), TemplateNotFound);
});

test("debug mode reloads an edited template; production keeps the cached one", async () => {
  const root = tree(FILES);
  const app = makeApp(root);
  const c = app.testClient();
  assert.equal((await c.get("/note", { query: { name: "a" } })).text, "Hi a");
  const p = join(root, "templates/note.txt");
  const edit = (content: string) => {
    const before = statSync(p).mtimeMs;
    writeFileSync(p, content);
    const later = new Date(before + 5000 + Math.random());
    utimesSync(p, later, later);
  };
  edit("Hello {{ name }}");
  assert.equal((await c.get("/note", { query: { name: "a" } })).text, "Hi a");
  app.config.debug = true;
  assert.equal((await c.get("/note", { query: { name: "a" } })).text, "Hello a");
  app.config.debug = false;
  app.config.templatesAutoReload = true;
  edit("Hey {{ name }}");
  assert.equal((await c.get("/note", { query: { name: "a" } })).text, "Hey a");
});

test("app.renderTemplate works outside a request; the globals need one", async () => {
  const app = makeApp(tree(FILES));
  assert.equal(await app.renderTemplate("note.txt", { name: "x" }), "Hi x");
  assert.equal(await app.renderTemplateString("{{ urlFor('profile', {id: 1}) }}"), "/user/1");
  assert.throws(() => renderTemplate("note.txt"), /app\.renderTemplate/);
  assert.throws(() => renderTemplateString("x"), /app\.renderTemplateString/);
});

test("filters and globals registered on app.templates", async () => {
  const app = makeApp(tree(FILES));
  app.templates.addFilter("shout", (s: string) => `${s}!`);
  app.templates.contextProcessor(() => ({ version: "1.0" }));
  app.get("/f", function f() {
    return renderTemplateString("{{ 'hi' | shout }} {{ version }} {{ data | tojson }}", {
      data: { a: "</script>" },
    });
  });
  assert.equal((await app.testClient().get("/f")).text, 'hi! 1.0 {"a":"\\u003c/script\\u003e"}');
});

test("a template that never reads the session doesn't open it (no Vary)", async () => {
  const c = makeApp(tree(FILES)).testClient();
  await c.post("/login", { form: { user: "a" } });
  const r = await c.get("/note", { query: { name: "a" } });
  assert.equal(r.headers.get("vary"), undefined);
});

test("abort() inside a template answers its status; other template errors are a 500", async () => {
  const app = makeApp(tree(FILES));
  app.templates.addGlobal("mustExist", (v: unknown) => (v === undefined ? abort(404) : v));
  app.get("/item", function item(req: Request) {
    return renderTemplateString("item {{ mustExist(id) }}", { id: req.args.get("id") });
  });
  app.get("/broken", function broken() {
    return renderTemplateString("{{ nope() }}");
  });
  const c = app.testClient();
  assert.equal((await c.get("/item", { query: { id: "7" } })).text, "item 7");
  assert.equal((await c.get("/item")).status, 404);
  assert.equal((await c.get("/broken")).status, 500);
});

test("Flask-style flashed messages with categories in a template", async () => {
  const app = makeApp(tree(FILES));
  app.post("/warn", function warn() {
    flash("Low disk", "warning");
    flash("Saved");
    return redirect("/flashes");
  });
  app.get("/flashes", function flashes() {
    return renderTemplateString(
      "{% for cat, msg in get_flashed_messages(with_categories=true) %}[{{ cat }}:{{ msg }}]{% endfor %}" +
        "{% for msg in getFlashedMessages({categoryFilter: ['warning']}) %}({{ msg }}){% endfor %}",
    );
  });
  const c = app.testClient();
  const r = await c.post("/warn", { followRedirects: true });
  assert.equal(r.text, "[warning:Low disk][message:Saved](Low disk)");
  assert.equal((await c.get("/flashes")).text, "");
});
