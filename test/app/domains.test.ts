// Host and subdomain matching, as Flask's `subdomain_matching` with SERVER_NAME and Werkzeug's
// `Map(host_matching=True)`: routes answer on their subdomain or host, the subdomain and host variables
// are route params, urlFor builds them (absolute when the host differs), and a host nobody serves is a
// 404. Through the test client, and over a socket with curl.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { Blueprint, BuildError, type Phial, redirect, urlFor } from "phial";
import type { Server } from "phial/http";
import { WebSocket } from "ws";
import { makeApp } from "./helpers.ts";

const run = promisify(execFile);

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "phial-domains-"));
  mkdirSync(join(dir, "static"));
  writeFileSync(join(dir, "static", "a.txt"), "static a");
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Flask: `Flask(__name__, subdomain_matching=True)`, `SERVER_NAME = "example.test"`. */
function subdomainApp(): Phial {
  const { app } = makeApp({ subdomainMatching: true, staticFolder: join(dir, "static") });
  app.config.serverName = "example.test";
  app.get("/", function index() {
    return "root";
  });
  app.get("/", { subdomain: "<user>" }, function userHome(req) {
    const user: string = req.params.user; // typed from the subdomain string
    // @ts-expect-error: no such parameter
    void req.params.nope;
    return `home of ${user}`;
  });
  app.get("/", { subdomain: "api" }, function apiIndex() {
    return "api";
  });
  app.get("/posts/<int:id>", { subdomain: "<user>" }, function post(req) {
    const id: number = req.params.id;
    return { user: req.params.user, id };
  });
  app.post("/only-post", { subdomain: "<user>" }, function onlyPost(req) {
    return req.params.user;
  });
  app.get("/links", { subdomain: "<user>" }, function links() {
    return {
      root: urlFor("index"),
      self: urlFor("userHome", { user: "alice" }),
      other: urlFor("userHome", { user: "bob" }),
      api: urlFor("apiIndex"),
      post: urlFor("post", { user: "alice", id: 3 }),
      forced: urlFor("post", { user: "alice", id: 3, _external: true }),
      https: urlFor("userHome", { user: "bob", _scheme: "https" }),
      static: urlFor("static", { filename: "a.txt" }),
    };
  });
  return app;
}

describe("subdomain matching (Flask's subdomain_matching and SERVER_NAME)", () => {
  test("routes answer on their subdomain; a static subdomain wins over a variable one", async () => {
    const c = subdomainApp().testClient();
    const on = (host: string, path = "/") => c.get(path, { headers: { Host: host } });
    assert.equal((await on("example.test")).text, "root");
    assert.equal((await on("alice.example.test")).text, "home of alice");
    assert.equal((await on("api.example.test")).text, "api");
    assert.deepEqual((await on("alice.example.test", "/posts/7")).json, { user: "alice", id: 7 });
    // Flask's test client argument.
    assert.equal((await c.get("/", { subdomain: "carol" })).text, "home of carol");
    // A deeper subdomain is one value, as Werkzeug's `[^/]+` matches it.
    assert.equal((await on("a.b.example.test")).text, "home of a.b");
  });

  test("Host is compared in lower case, the scheme's default port left out", async () => {
    const c = subdomainApp().testClient();
    assert.equal((await c.get("/", { headers: { Host: "Alice.EXAMPLE.test" } })).text, "home of alice");
    assert.equal((await c.get("/", { headers: { Host: "alice.example.test:80" } })).text, "home of alice");
    assert.equal(
      (await c.get("/", { headers: { Host: "alice.example.test:443" }, secure: true })).text,
      "home of alice",
    );
    // Another port is another host: SERVER_NAME must then name it ("example.test:8080").
    assert.equal((await c.get("/", { headers: { Host: "alice.example.test:8080" } })).status, 404);
    assert.equal((await c.get("/", { headers: { Host: "example.test:443" } })).status, 404);
  });

  test("a host outside SERVER_NAME, and a subdomain nobody serves, are 404s", async () => {
    const c = subdomainApp().testClient();
    assert.equal((await c.get("/", { headers: { Host: "other.test" } })).status, 404);
    assert.equal((await c.get("/", { headers: { Host: "badexample.test" } })).status, 404);
    // Rules without a subdomain answer on the bare server name only.
    const app = subdomainApp();
    app.get("/about", () => "about");
    const c2 = app.testClient();
    assert.equal((await c2.get("/about", { headers: { Host: "example.test" } })).text, "about");
    assert.equal((await c2.get("/about", { headers: { Host: "alice.example.test" } })).status, 404);
    assert.equal((await c2.get("/posts/1", { headers: { Host: "example.test" } })).status, 404);
  });

  test("405 and OPTIONS list the methods of the rules on that subdomain only", async () => {
    const app = subdomainApp();
    app.put("/only-post", () => "put on the bare name");
    const c = app.testClient();
    const r = await c.get("/only-post", { headers: { Host: "alice.example.test" } });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get("allow"), "OPTIONS, POST");
    const o = await c.options("/only-post", { headers: { Host: "alice.example.test" } });
    assert.equal(o.headers.get("allow"), "OPTIONS, POST");
    assert.equal((await c.post("/only-post", { headers: { Host: "alice.example.test" } })).text, "alice");
  });

  test("urlFor builds the subdomain: relative on the current one, absolute on another", async () => {
    const c = subdomainApp().testClient();
    const r = await c.get("/links", { headers: { Host: "alice.example.test" } });
    assert.deepEqual(r.json, {
      root: "http://example.test/",
      self: "/",
      other: "http://bob.example.test/",
      api: "http://api.example.test/",
      post: "/posts/3",
      forced: "http://alice.example.test/posts/3",
      https: "https://bob.example.test/",
      static: "http://example.test/static/a.txt",
    });
    // A redirect to another subdomain is followed there by the test client.
    const app = subdomainApp();
    app.get("/go", { subdomain: "<user>" }, () => redirect(urlFor("apiIndex")));
    const f = await app.testClient().get("/go", { subdomain: "alice", followRedirects: true });
    assert.equal(f.text, "api");
  });

  test("urlFor outside a request: the bare server name is current", () => {
    const app = subdomainApp();
    assert.equal(app.urlFor("index"), "/");
    assert.equal(app.urlFor("userHome", { user: "bob" }), "http://bob.example.test/");
    app.config.preferredUrlScheme = "https";
    assert.equal(app.urlFor("userHome", { user: "bob" }), "https://bob.example.test/");
  });

  test("a value that is not host text is a BuildError, never a link to another host", () => {
    const app = subdomainApp();
    for (const user of ["evil.test/x", "a b", "x@evil.test", "a%2F"]) {
      assert.throws(
        () => app.urlFor("userHome", { user }),
        (e: unknown) => e instanceof BuildError && /in its host/.test(e.message),
        user,
      );
    }
    assert.throws(() => app.urlFor("userHome"), /needs "user"/);
  });

  test("the static route follows Flask: on the bare server name only", async () => {
    const c = subdomainApp().testClient();
    assert.equal((await c.get("/static/a.txt", { headers: { Host: "example.test" } })).text, "static a");
    assert.equal((await c.get("/static/a.txt", { headers: { Host: "alice.example.test" } })).status, 404);
  });

  test("blueprints: registered with a subdomain, nested ones in front of their parent's", async () => {
    const { app } = makeApp({ subdomainMatching: true, staticFolder: null });
    app.config.serverName = "example.test";
    const shop = new Blueprint("shop", { subdomain: "<store>" });
    // A blueprint's subdomain is not in its routes' rule strings (as a urlPrefix's variables): untyped.
    shop.get("/", function front(req) {
      return `store ${(req.params as { store: string }).store}`;
    });
    shop.get("/help", { subdomain: "help" }, function help() {
      return "help";
    });
    const admin = new Blueprint("admin", { subdomain: "admin" });
    admin.get("/", function dash(req) {
      return `admin of ${(req.params as { store: string }).store}`;
    });
    shop.registerBlueprint(admin);
    const docs = new Blueprint("docs");
    docs.get("/", function home() {
      return "docs";
    });
    app.registerBlueprint(shop);
    app.registerBlueprint(docs, { subdomain: "docs", name: "docs" });
    const c = app.testClient();
    const on = (host: string, path = "/") => c.get(path, { headers: { Host: host } });
    assert.equal((await on("acme.example.test")).text, "store acme");
    assert.equal((await on("admin.acme.example.test")).text, "admin of acme");
    assert.equal((await on("docs.example.test")).text, "docs");
    assert.equal((await on("help.example.test", "/help")).text, "help");
    assert.equal((await on("acme.example.test", "/help")).status, 404);
    assert.equal(app.urlFor("shop.admin.dash", { store: "acme" }), "http://admin.acme.example.test/");
  });

  test("without SERVER_NAME every host is the bare name (as Flask): only rules without a subdomain match", async () => {
    const app = subdomainApp();
    app.config.serverName = undefined;
    const c = app.testClient();
    assert.equal((await c.get("/", { headers: { Host: "alice.example.test" } })).text, "root");
    assert.throws(() => app.urlFor("userHome", { user: "bob" }), /app\.config\.serverName/);
  });

  test("defaultSubdomain (Werkzeug's default_subdomain): rules without a subdomain answer on it", async () => {
    const { app } = makeApp({
      subdomainMatching: true,
      defaultSubdomain: "www",
      staticFolder: join(dir, "static"),
    });
    app.config.serverName = "example.test";
    app.get("/", function home() {
      return "www home";
    });
    app.get("/", { subdomain: "" }, function bare() {
      return "bare";
    });
    const c = app.testClient();
    assert.equal((await c.get("/", { subdomain: "www" })).text, "www home");
    assert.equal((await c.get("http://example.test/")).text, "bare");
    assert.equal((await c.get("http://www.example.test/static/a.txt")).text, "static a");
    assert.equal(app.urlFor("home"), "/"); // outside a request the default subdomain is current
    assert.equal(app.urlFor("bare"), "http://example.test/");
    assert.throws(() => makeApp({ defaultSubdomain: "www" }), /subdomainMatching: true/);
  });

  test("a subdomain or host on an app that doesn't match them throws at registration, saying what to set", () => {
    const { app } = makeApp();
    assert.throws(() => app.get("/", { subdomain: "api" }, () => "x"), /subdomainMatching: true.*serverName/);
    assert.throws(() => app.get("/", { host: "api.example.test" }, () => "x"), /hostMatching: true/);
    assert.throws(
      () => makeApp({ subdomainMatching: true, hostMatching: true, staticFolder: null }),
      /choose one/,
    );
    const { app: s } = makeApp({ subdomainMatching: true, staticFolder: null });
    assert.throws(() => s.get("/", { subdomain: "API" }, () => "x"), /lower case/);
    assert.throws(() => s.get("/<user>", { subdomain: "<user>" }, () => "x"), /both the path and the host/);
    assert.throws(() => s.get("/", { subdomain: "<path:p>" }, () => "x"), /slashes/);
  });
});

/** Werkzeug: `Map(host_matching=True)`; Flask: `Flask(__name__, host_matching=True, static_host=…)`. */
function hostApp(): Phial {
  const { app } = makeApp({
    hostMatching: true,
    staticHost: "static.example.test",
    staticFolder: join(dir, "static"),
  });
  app.get("/", { host: "example.test" }, function index() {
    return "main site";
  });
  app.get("/", { host: "<name>.users.example.test" }, function site(req) {
    const name: string = req.params.name;
    return `site of ${name}`;
  });
  app.get("/v1/<int:n>", { host: "api.example.test:8443" }, function api(req) {
    return { n: req.params.n };
  });
  app.get("/links", { host: "<name>.users.example.test" }, function links() {
    return {
      index: urlFor("index"),
      self: urlFor("site", { name: "ann" }),
      other: urlFor("site", { name: "bo" }),
      api: urlFor("api", { n: 2 }),
      static: urlFor("static", { filename: "a.txt" }),
    };
  });
  return app;
}

describe("host matching (Werkzeug's Map(host_matching=True))", () => {
  test("routes answer on their host, its variables as params; case and default port as Werkzeug", async () => {
    const c = hostApp().testClient();
    const on = (host: string, path = "/") => c.get(path, { headers: { Host: host } });
    assert.equal((await on("example.test")).text, "main site");
    assert.equal((await on("Example.Test:80")).text, "main site");
    assert.equal((await on("ann.users.example.test")).text, "site of ann");
    assert.deepEqual((await on("api.example.test:8443", "/v1/5")).json, { n: 5 });
    assert.equal((await on("api.example.test", "/v1/5")).status, 404); // the port is part of the host
    assert.equal((await on("example.test:8080")).status, 404);
    assert.equal((await on("elsewhere.test")).status, 404);
    assert.equal((await c.get("http://ann.users.example.test/")).text, "site of ann");
    // What no host holds never reaches a rule (the string converter would take "/" or " " in a Host).
    for (const bad of [
      "a/b.users.example.test",
      "a b.users.example.test",
      "a@b.users.example.test",
      "a%2f.users.example.test",
    ]) {
      assert.equal((await on(bad)).status, 404, bad);
    }
  });

  test("urlFor: relative on the current host, absolute on another", async () => {
    const c = hostApp().testClient();
    const r = await c.get("/links", { headers: { Host: "ann.users.example.test" } });
    assert.deepEqual(r.json, {
      index: "http://example.test/",
      self: "/",
      other: "http://bo.users.example.test/",
      api: "http://api.example.test:8443/v1/2",
      static: "http://static.example.test/static/a.txt",
    });
  });

  test("static files are served on staticHost only, which host matching requires (as Flask)", async () => {
    const c = hostApp().testClient();
    const s = await c.get("/static/a.txt", { headers: { Host: "static.example.test" } });
    assert.equal(s.text, "static a");
    assert.equal((await c.get("/static/a.txt", { headers: { Host: "example.test" } })).status, 404);
    assert.throws(() => makeApp({ hostMatching: true }), /staticHost/);
    assert.throws(() => makeApp({ staticHost: "s.example.test" }), /hostMatching: true/);
    // A rule without a host answers on no host (Werkzeug's empty host): every rule names its host.
    const { app } = makeApp({ hostMatching: true, staticFolder: null });
    app.get("/", () => "nowhere");
    assert.equal((await app.testClient().get("/")).status, 404);
  });
});

describe("over a socket, with curl", () => {
  let server: Server;
  let port: number;
  let app: Phial;
  before(async () => {
    app = subdomainApp();
    server = app.listen();
    port = (await server.listen(0, "127.0.0.1")).port;
  });
  after(() => server.close());

  test("curl with a Host field and with --resolve reaches the subdomain's route", async () => {
    const base = `http://127.0.0.1:${port}`;
    const { stdout: a } = await run("curl", ["-s", "-H", "Host: alice.example.test", `${base}/`]);
    assert.equal(a, "home of alice");
    const { stdout: root } = await run("curl", ["-s", "-H", "Host: example.test", `${base}/`]);
    assert.equal(root, "root");
    const { stdout: miss } = await run("curl", [
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-H",
      "Host: nobody.other.test",
      `${base}/`,
    ]);
    assert.equal(miss, "404");
    // With the port in the Host (curl's default), SERVER_NAME must name it: a 404 here...
    const { stdout: ported } = await run("curl", [
      "-s",
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "--resolve",
      `bob.example.test:${port}:127.0.0.1`,
      `http://bob.example.test:${port}/`,
    ]);
    assert.equal(ported, "404");
    // ... and with SERVER_NAME "example.test:<port>", curl's own Host finds the subdomain and its links.
    app.config.serverName = `example.test:${port}`;
    const resolve = ["--resolve", `bob.example.test:${port}:127.0.0.1`];
    const { stdout: bob } = await run("curl", ["-s", ...resolve, `http://bob.example.test:${port}/`]);
    assert.equal(bob, "home of bob");
    const { stdout: links } = await run("curl", ["-s", ...resolve, `http://bob.example.test:${port}/links`]);
    assert.equal(JSON.parse(links).root, `http://example.test:${port}/`);
    assert.equal(JSON.parse(links).other, "/");
  });
});

describe("WebSocket routes on a host", () => {
  test("app.websocket takes { host } under host matching; another Host gets no upgrade", async () => {
    const { app } = makeApp({ hostMatching: true, staticFolder: null });
    app.websocket("/ws", { host: "<room>.chat.example.test" }, async (ws, req) => {
      ws.send(`room ${(req.params as { room: string }).room}`);
    });
    const server = app.listen();
    const { port } = await server.listen(0, "127.0.0.1");
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { Host: "tea.chat.example.test" } });
      const data = await new Promise<string>((resolve, reject) => {
        ws.once("message", (m) => resolve(String(m)));
        ws.once("error", reject);
      });
      assert.equal(data, "room tea");
      ws.close();
      const other = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { Host: "elsewhere.test" } });
      const status = await new Promise<number>((resolve) => {
        other.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
        other.once("error", () => resolve(-1));
      });
      assert.equal(status, 404);
    } finally {
      await server.close();
    }
  });
});
