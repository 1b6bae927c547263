// The Flask API a port needs, in Flask's shape: class-based views, URL value preprocessors and
// defaults, signals, teardownAppcontext. Each through the test client.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  appcontextTearingDown,
  Blueprint,
  flash,
  getTemplateAttribute,
  gotRequestException,
  MethodView,
  messageFlashed,
  type Request,
  renderTemplateString,
  requestFinished,
  requestStarted,
  requestTearingDown,
  templateRendered,
  urlFor,
  View,
} from "phial";
import { makeApp } from "./helpers.ts";

test("MethodView: a method per verb; the rule takes the verbs the class has; HEAD goes to get", async () => {
  const { app } = makeApp();
  const users = new Map<number, string>([[1, "ada"]]);
  class UserApi extends MethodView {
    get(req: Request) {
      const name = users.get(req.params.id as number);
      return name === undefined ? ["no such user", 404] : { id: req.params.id, name };
    }
    async delete(req: Request) {
      users.delete(req.params.id as number);
      return ["", 204];
    }
  }
  app.route("/users/<int:id>", UserApi.asView("user"));
  const c = app.testClient();
  assert.deepEqual((await c.get("/users/1")).json, { id: 1, name: "ada" });
  assert.equal((await c.open("HEAD", "/users/1")).status, 200);
  const post = await c.post("/users/1");
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "DELETE, GET, HEAD, OPTIONS");
  assert.equal((await c.delete("/users/1")).status, 204);
  assert.equal((await c.get("/users/1")).status, 404);
  assert.equal(app.urlFor("user", { id: 7 }), "/users/7", "asView's name is the endpoint");
});

test("View: dispatchRequest, constructor arguments, decorators, one instance or one per request", async () => {
  const { app } = makeApp();
  let made = 0;
  class Greeting extends View {
    static override methods = ["GET", "POST"];
    static override decorators = [
      (view: (req: Request) => unknown) => async (req: Request) => `[${await view(req)}]`,
    ] as never;
    constructor(private readonly word: string) {
      super();
      made++;
    }
    dispatchRequest(req: Request) {
      return `${this.word} ${req.method} ${req.params.name}`;
    }
  }
  app.route("/hi/<name>", Greeting.asView("hi", "hello"));
  class Once extends Greeting {
    static override initEveryRequest = false;
  }
  app.route("/once/<name>", Once.asView("once", "hey"));
  const c = app.testClient();
  assert.equal((await c.get("/hi/ada")).text, "[hello GET ada]");
  assert.equal((await c.post("/hi/bob")).text, "[hello POST bob]");
  assert.equal(made, 3, "two requests, two instances, and one for Once at asView");
  await c.get("/once/x");
  await c.get("/once/y");
  assert.equal(made, 3, "Once made no more");
});

test("urlValuePreprocessor takes a value out of every URL; urlDefaults puts it back in urlFor", async () => {
  const { app } = makeApp();
  const bp = new Blueprint("i18n", { urlPrefix: "/<lang>" });
  bp.urlValuePreprocessor((_endpoint, values) => {
    (globalThis as { lang?: unknown }).lang = values.lang;
    delete values.lang;
  });
  bp.urlDefaults((_endpoint, values) => {
    values.lang ??= (globalThis as { lang?: unknown }).lang;
  });
  bp.get("/about", function about(req) {
    return { params: req.params, link: urlFor("i18n.about"), other: urlFor("i18n.about", { lang: "fr" }) };
  });
  app.registerBlueprint(bp);
  const seen: (string | undefined)[] = [];
  app.urlValuePreprocessor((endpoint) => {
    seen.push(endpoint);
  });
  const r = await app.testClient().get("/de/about");
  assert.deepEqual(r.json, { params: {}, link: "/de/about", other: "/fr/about" });
  assert.deepEqual(seen, ["i18n.about"], "the app's preprocessors run for every request");
  delete (globalThis as { lang?: unknown }).lang;
});

test("signals: started, template rendered, flashed, finished, exception, tearing down, in Flask's order", async () => {
  const { app } = makeApp();
  app.config.secretKey = "k";
  app.config.testing = false;
  app.get("/", function index() {
    flash("hi");
    return renderTemplateString("{{ x }}", { x: 1 });
  });
  app.get("/boom", function boom() {
    throw new Error("boom");
  });
  const events: string[] = [];
  const receivers = [
    requestStarted.connect((_s, v) => events.push(`started ${v.request.path}`), app),
    templateRendered.connect((_s, v) => events.push(`rendered ${v.template} x=${v.context.x}`)),
    messageFlashed.connect((_s, v) => events.push(`flashed ${v.message}`)),
    gotRequestException.connect((_s, v) => events.push(`exception ${(v.exception as Error).message}`)),
    requestFinished.connect((_s, v) => events.push(`finished ${v.response.status}`)),
    requestTearingDown.connect((_s, v) => events.push(`tearing down ${v.exc === undefined ? "-" : "error"}`)),
    appcontextTearingDown.connect(() => events.push("app context")),
  ];
  app.teardownAppcontext((err) => {
    events.push(`teardownAppcontext ${err === undefined ? "-" : "error"}`);
  });
  try {
    const c = app.testClient();
    assert.equal((await c.get("/")).text, "1");
    assert.equal((await c.get("/boom")).status, 500);
  } finally {
    requestStarted.disconnect(receivers[0] as never);
    templateRendered.disconnect(receivers[1] as never);
    messageFlashed.disconnect(receivers[2] as never);
    gotRequestException.disconnect(receivers[3] as never);
    requestFinished.disconnect(receivers[4] as never);
    requestTearingDown.disconnect(receivers[5] as never);
    appcontextTearingDown.disconnect(receivers[6] as never);
  }
  assert.deepEqual(events, [
    "started /",
    "flashed hi",
    "rendered <string> x=1",
    "finished 200",
    "tearing down -",
    "teardownAppcontext -",
    "app context",
    "started /boom",
    "exception boom",
    "finished 500",
    "tearing down error",
    "teardownAppcontext error",
    "app context",
  ]);
  // disconnected: a request sends nothing any more (teardownAppcontext still runs)
  await app.testClient().get("/");
  assert.deepEqual(events.slice(13), ["teardownAppcontext -"]);
});

test("a receiver connected to another app hears nothing of this one", async () => {
  const { app } = makeApp();
  const other = makeApp().app;
  app.get("/", () => "x");
  const heard: unknown[] = [];
  const fn = requestStarted.connect((sender) => heard.push(sender), other);
  try {
    await app.testClient().get("/");
  } finally {
    requestStarted.disconnect(fn);
  }
  assert.deepEqual(heard, []);
});

test("getTemplateAttribute: a macro called from code, a top-level variable; a clear error otherwise", async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const dir = mkdtempSync(join(tmpdir(), "phial-attr-"));
  try {
    writeFileSync(
      join(dir, "_macros.html"),
      "{% set version = 3 %}{% macro hello(name) %}<b>Hello {{ name }}!</b>{% endmacro %}",
    );
    const { app } = makeApp({ templateFolder: dir });
    app.get("/", async function index() {
      const hello = (await getTemplateAttribute("_macros.html", "hello")) as (n: string) => string;
      return { html: hello("<ada>"), version: await getTemplateAttribute("_macros.html", "version") };
    });
    assert.deepEqual((await app.testClient().get("/")).json, {
      html: "<b>Hello &lt;ada&gt;!</b>",
      version: 3,
    });
    await assert.rejects(
      app.getTemplateAttribute("_macros.html", "nope"),
      /no macro or top-level variable "nope"/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("blueprint app-wide hooks: beforeAppRequest, afterAppRequest, teardownAppRequest run for every request", async () => {
  const { app } = makeApp();
  const bp = new Blueprint("audit", { urlPrefix: "/audit" });
  const seen: string[] = [];
  bp.beforeAppRequest((req) => {
    seen.push(`before ${req.path}`);
  });
  bp.afterAppRequest((res, req) => {
    res.headers.set("X-Audited", req.endpoint ?? "-");
  });
  bp.teardownAppRequest((_err, req) => {
    seen.push(`teardown ${req.path}`);
  });
  // Only this blueprint's requests: the plain hooks, for contrast.
  bp.beforeRequest(() => {
    seen.push("bp only");
  });
  bp.get("/x", function x() {
    return "x";
  });
  app.get("/", function index() {
    return "home";
  });
  app.registerBlueprint(bp);
  app.registerBlueprint(bp, { name: "audit2", urlPrefix: "/audit2" }); // registered twice: hooks once
  const c = app.testClient();
  const r = await c.get("/");
  assert.equal(r.headers.get("x-audited"), "index");
  assert.deepEqual(seen, ["before /", "teardown /"]);
  seen.length = 0;
  assert.equal((await c.get("/audit/x")).headers.get("x-audited"), "audit.x");
  assert.deepEqual(seen, ["before /audit/x", "bp only", "teardown /audit/x"]);
  seen.length = 0;
  assert.equal((await c.get("/missing")).headers.get("x-audited"), "-"); // a 404 too, as Flask
  assert.deepEqual(seen, ["before /missing", "teardown /missing"]);
  assert.throws(() => bp.beforeAppRequest(() => undefined), /already registered/);
});

test("blueprint appErrorHandler handles errors of the whole app; errorHandler only the blueprint's", async () => {
  const { app } = makeApp();
  class Gone extends Error {}
  const bp = new Blueprint("errors");
  bp.appErrorHandler(404, () => ["app-wide 404", 404]);
  bp.appErrorHandler(Gone, () => ["gone", 410]);
  bp.errorHandler(500, () => ["bp 500", 500]);
  app.get("/boom", () => {
    throw new Gone();
  });
  app.get("/fail", () => {
    throw new Error("x");
  });
  app.registerBlueprint(bp);
  const c = app.testClient();
  const nf = await c.get("/nothing");
  assert.equal(nf.status, 404);
  assert.equal(nf.text, "app-wide 404");
  const g = await c.get("/boom");
  assert.equal(g.status, 410);
  assert.equal(g.text, "gone");
  const f = await c.get("/fail");
  assert.equal(f.status, 500);
  assert.notEqual(f.text, "bp 500"); // the blueprint's own handler is for its own routes only
  assert.throws(() => new Blueprint("b").appErrorHandler(200, () => "x"), /400 to 599/);
});

test("blueprint appTemplateFilter, appTemplateGlobal, appTemplateTest and appContextProcessor reach every template", async () => {
  const { app } = makeApp();
  const bp = new Blueprint("ui");
  bp.appTemplateFilter("shout", (s: string) => `${String(s).toUpperCase()}!`);
  bp.appTemplateGlobal("siteName", "Phial");
  bp.appTemplateTest("even", (n: number) => n % 2 === 0);
  bp.appContextProcessor(() => ({ year: 2026 }));
  app.registerBlueprint(bp);
  app.get("/", () =>
    renderTemplateString("{{ 'hi'|shout }} {{ siteName }} {{ year }} {{ 4 is even }} {{ 3 is even }}"),
  );
  assert.equal((await app.testClient().get("/")).text, "HI! Phial 2026 true false");
});

test("blueprint appUrlValuePreprocessor and appUrlDefaults apply to the app's endpoints", async () => {
  const { app } = makeApp();
  const bp = new Blueprint("lang");
  let lang: unknown;
  bp.appUrlValuePreprocessor((_e, values) => {
    lang = values.lang;
    delete values.lang;
  });
  bp.appUrlDefaults((_e, values) => {
    values.lang ??= lang;
  });
  app.get("/<lang>/about", function about(req) {
    return { params: req.params, other: urlFor("about") };
  });
  app.registerBlueprint(bp);
  assert.deepEqual((await app.testClient().get("/de/about")).json, { params: {}, other: "/de/about" });
});

test("testCliRunner runs the app's commands in-process, with their output, exit code and exception", async () => {
  const { app } = makeApp();
  app.get("/users", function users() {
    return "users";
  });
  app.cli.command("greet", { help: "Say hello" }, (args, ctx) => {
    ctx.stdout.write(`hello ${args[0] ?? "world"} at ${urlFor("users")}\n`);
    ctx.stderr.write("(done)\n");
  });
  app.cli.command("fail-with", (args) => Number(args[0]));
  app.cli.command("boom", () => {
    throw new Error("no database");
  });
  const runner = app.testCliRunner();
  const r = await runner.invoke(["greet", "ada"]);
  assert.equal(r.exitCode, 0);
  assert.equal(r.stdout, "hello ada at /users\n"); // in a request context: urlFor works
  assert.equal(r.stderr, "(done)\n");
  assert.equal(r.output, "hello ada at /users\n(done)\n");
  assert.equal((await runner.invoke(["fail-with", "3"])).exitCode, 3);
  const b = await runner.invoke(["boom"]);
  assert.equal(b.exitCode, 1);
  assert.match(String(b.exception), /no database/);
  const u = await runner.invoke(["nope"]);
  assert.equal(u.exitCode, 2);
  assert.match(u.output, /No such command "nope"\. Commands: greet, fail-with, boom/);
});
