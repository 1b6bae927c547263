// `config.trustProxy` through the framework: remoteAddr, scheme, host, url, urlFor and redirects behind
// a reverse proxy, and the spoofing cases (an untrusted peer, a forged X-Forwarded-For chain).

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Request, redirect, safeRedirect } from "phial";
import { makeApp } from "./helpers.ts";

function view(req: Request) {
  return {
    remoteAddr: req.remoteAddr,
    accessRoute: req.accessRoute,
    scheme: req.scheme,
    isSecure: req.isSecure,
    host: req.host,
    hostUrl: req.hostUrl,
    url: req.url,
    baseUrl: req.baseUrl,
    scriptRoot: req.scriptRoot,
    self: req.app.urlFor("info", { q: "1" }),
    external: req.app.urlFor("info", { _external: true }),
  };
}

function proxiedApp(config: Record<string, unknown> = {}) {
  const { app, logs } = makeApp({ config });
  app.route("/info", { endpoint: "info" }, view);
  app.route("/dir/", () => "dir");
  app.route("/go", () => redirect(app.urlFor("info")));
  app.route("/safe", (req) => safeRedirect(req.args.get("next") ?? "/"));
  return { app, client: app.testClient(), logs };
}

/** The nginx of docs/deployment.md sets all four, so the app is told to believe all four. */
const FOUR = ["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-prefix"];

const NGINX = {
  "X-Forwarded-For": "198.51.100.7",
  "X-Forwarded-Proto": "https",
  "X-Forwarded-Host": "shop.example",
  "X-Forwarded-Prefix": "/store",
};

describe("trustProxy off (the default)", () => {
  test("nothing forwarded is believed, from any peer", async () => {
    const { client } = proxiedApp();
    const r = await client.get("/info", { headers: { ...NGINX, Host: "app.internal:8000" } });
    assert.deepEqual(r.json, {
      remoteAddr: "127.0.0.1",
      accessRoute: ["127.0.0.1"],
      scheme: "http",
      isSecure: false,
      host: "app.internal:8000",
      hostUrl: "http://app.internal:8000/",
      url: "http://app.internal:8000/info",
      baseUrl: "http://app.internal:8000/info",
      scriptRoot: "",
      self: "/info?q=1",
      external: "http://app.internal:8000/info",
    });
  });
});

describe("trustProxy: loopback (a local nginx)", () => {
  test("the client, scheme, host and prefix come from the proxy", async () => {
    const { client } = proxiedApp({ trustProxy: "loopback", forwardedHeaders: FOUR });
    const r = await client.get("/info?x=1", { headers: { ...NGINX, Host: "127.0.0.1:8000" } });
    assert.deepEqual(r.json, {
      remoteAddr: "198.51.100.7",
      accessRoute: ["198.51.100.7", "127.0.0.1"],
      scheme: "https",
      isSecure: true,
      host: "shop.example",
      hostUrl: "https://shop.example/",
      url: "https://shop.example/store/info?x=1",
      baseUrl: "https://shop.example/store/info",
      scriptRoot: "/store",
      self: "/store/info?q=1",
      external: "https://shop.example/store/info",
    });
  });

  test("a peer that is not the proxy can't forge anything", async () => {
    const { client } = proxiedApp({ trustProxy: "loopback", forwardedHeaders: FOUR });
    const r = await client.get("/info", { headers: NGINX, remoteAddr: "203.0.113.5" });
    const v = r.json as ReturnType<typeof view>;
    assert.equal(v.remoteAddr, "203.0.113.5");
    assert.equal(v.scheme, "http");
    assert.equal(v.host, "localhost");
    assert.equal(v.self, "/info?q=1");
  });

  test("a client's own X-Forwarded-For is not believed beyond the trusted hop", async () => {
    const { client } = proxiedApp({ trustProxy: "loopback", forwardedHeaders: FOUR });
    // The client sent "X-Forwarded-For: 127.0.0.1, 10.9.9.9"; nginx appended the real address.
    const r = await client.get("/info", {
      headers: { "X-Forwarded-For": "127.0.0.1, 10.9.9.9, 198.51.100.7" },
    });
    const v = r.json as ReturnType<typeof view>;
    assert.equal(v.remoteAddr, "198.51.100.7");
    assert.deepEqual(v.accessRoute, ["198.51.100.7", "127.0.0.1"]);
  });

  test("a forged loopback address at the right is walked past only while hops are trusted", async () => {
    // Two proxies: the CDN (10.0.0.0/8) then nginx (loopback); the client is left of the CDN.
    const { client } = proxiedApp({ trustProxy: ["loopback", "10.0.0.0/8"], forwardedHeaders: FOUR });
    const r = await client.get("/info", {
      headers: { "X-Forwarded-For": "6.6.6.6, 198.51.100.7, 10.1.2.3" },
    });
    const v = r.json as ReturnType<typeof view>;
    assert.equal(v.remoteAddr, "198.51.100.7");
    assert.deepEqual(v.accessRoute, ["198.51.100.7", "10.1.2.3", "127.0.0.1"]);
  });

  test("X-Forwarded-For sent as several fields is one list", async () => {
    const { client } = proxiedApp({ trustProxy: "loopback", forwardedHeaders: FOUR });
    const r = await client.get("/info", {
      headers: [
        ["X-Forwarded-For", "6.6.6.6"],
        ["X-Forwarded-For", "198.51.100.7"],
      ],
    });
    assert.equal((r.json as ReturnType<typeof view>).remoteAddr, "198.51.100.7");
  });

  test("garbage in X-Forwarded-For stops the walk at the proxy", async () => {
    const { client } = proxiedApp({ trustProxy: "loopback", forwardedHeaders: FOUR });
    const r = await client.get("/info", { headers: { "X-Forwarded-For": "not-an-ip" } });
    assert.equal((r.json as ReturnType<typeof view>).remoteAddr, "127.0.0.1");
  });

  test("a forwarded host that could bend URLs is ignored", async () => {
    const { client } = proxiedApp({ trustProxy: "loopback", forwardedHeaders: FOUR });
    const r = await client.get("/info", { headers: { "X-Forwarded-Host": "evil.test/x?", Host: "ok.test" } });
    assert.equal((r.json as ReturnType<typeof view>).host, "ok.test");
  });

  test("redirects built with urlFor and the slash redirect carry the prefix", async () => {
    const { client } = proxiedApp({ trustProxy: "loopback", forwardedHeaders: FOUR });
    const a = await client.get("/go", { headers: NGINX });
    assert.equal(a.status, 302);
    assert.equal(a.headers.get("location"), "/store/info");
    const b = await client.get("/dir?x=1", { headers: NGINX });
    assert.equal(b.status, 308);
    assert.equal(b.headers.get("location"), "/store/dir/?x=1");
  });

  test("safeRedirect accepts the public host as the request's own", async () => {
    const { client } = proxiedApp({ trustProxy: "loopback", forwardedHeaders: FOUR });
    const ok = await client.get("/safe?next=https://shop.example/account", { headers: NGINX });
    assert.equal(ok.headers.get("location"), "https://shop.example/account");
    const no = await client.get("/safe?next=https://localhost/account", { headers: NGINX });
    assert.equal(no.headers.get("location"), "/");
  });

  test("forwardedHeaders limits what is taken", async () => {
    const { client } = proxiedApp({ trustProxy: "loopback", forwardedHeaders: ["X-Forwarded-For"] });
    const v = (await client.get("/info", { headers: NGINX })).json as ReturnType<typeof view>;
    assert.equal(v.remoteAddr, "198.51.100.7");
    assert.equal(v.scheme, "http");
    assert.equal(v.host, "localhost");
    assert.equal(v.scriptRoot, "");
  });

  test("the prefix comes before applicationRoot", async () => {
    const { client } = proxiedApp({
      trustProxy: "loopback",
      forwardedHeaders: FOUR,
      applicationRoot: "/v1/",
    });
    const v = (await client.get("/info", { headers: NGINX })).json as ReturnType<typeof view>;
    assert.equal(v.scriptRoot, "/store/v1");
    assert.equal(v.self, "/store/v1/info?q=1");
  });
});

describe("trustProxy settings", () => {
  test("a CIDR, a function, and a change at run time (recompiled)", async () => {
    const { app, client } = proxiedApp({ trustProxy: "10.0.0.0/8" });
    const h = { headers: { "X-Forwarded-For": "198.51.100.7" } };
    let v = (await client.get("/info", { ...h, remoteAddr: "10.2.3.4" })).json as ReturnType<typeof view>;
    assert.equal(v.remoteAddr, "198.51.100.7");
    v = (await client.get("/info", h)).json as ReturnType<typeof view>;
    assert.equal(v.remoteAddr, "127.0.0.1", "loopback is not in 10/8");
    app.config.trustProxy = (addr: string) => addr === "127.0.0.1";
    v = (await client.get("/info", h)).json as ReturnType<typeof view>;
    assert.equal(v.remoteAddr, "198.51.100.7");
    app.config.trustProxy = false;
    v = (await client.get("/info", h)).json as ReturnType<typeof view>;
    assert.equal(v.remoteAddr, "127.0.0.1");
  });

  test("true, a hop count and a bad address are refused with the fix", async () => {
    for (const bad of [true, 1, "1", "*", "nginx.local"]) {
      const { client, logs } = proxiedApp({ trustProxy: bad });
      const r = await client.get("/info", { headers: NGINX });
      assert.equal(r.status, 500, String(bad));
      const err = logs.find((l) => l.level === "error")?.error as Error;
      assert.match(err.message, /trustProxy/);
    }
  });

  test("PHIAL_TRUST_PROXY and PHIAL_FORWARDED_HEADERS from the environment", () => {
    const { app } = makeApp();
    app.config.fromEnv("PHIAL", {
      PHIAL_TRUST_PROXY: "loopback,10.0.0.0/8",
      PHIAL_FORWARDED_HEADERS: "x-forwarded-for,x-forwarded-proto",
    });
    assert.equal(app.config.trustProxy, "loopback,10.0.0.0/8");
    assert.equal(app.config.forwardedHeaders, "x-forwarded-for,x-forwarded-proto");
    app.config.fromEnv("PHIAL", { PHIAL_TRUST_PROXY: "0" });
    assert.equal(app.config.trustProxy, false);
  });
});

describe("trustProxy and the debug page", () => {
  test("behind a trusted local proxy, a remote client gets the plain 500, a local one the debug page", async () => {
    const { app, client } = proxiedApp({ trustProxy: "loopback", debug: true });
    app.route("/fail", function fail() {
      throw new Error("secret internals");
    });
    const remote = await client.get("/fail", { headers: { "X-Forwarded-For": "198.51.100.7" } });
    assert.equal(remote.status, 500);
    assert.doesNotMatch(remote.text, /secret internals/);
    const local = await client.get("/fail");
    assert.equal(local.status, 500);
    assert.match(local.text, /secret internals/);
  });
});
