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
