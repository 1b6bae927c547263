// CORS, CSRF and security headers, over real sockets with the fields a browser sends (Origin,
// Sec-Fetch-Site, preflights), sent with node:http so that nothing filters them.

import assert from "node:assert/strict";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { after, describe, test } from "node:test";
import { Blueprint, csrfToken, type Phial } from "phial";
import { WebSocket } from "ws";
import { makeApp } from "./helpers.ts";

const servers: { close(o?: { deadline?: number }): Promise<void> }[] = [];
after(async () => {
  for (const s of servers) await s.close({ deadline: 100 });
});

async function serve(app: Phial): Promise<number> {
  const server = app.listen();
  servers.push(server);
  return (await server.listen(0, "127.0.0.1")).port;
}

interface Got {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body = "",
): Promise<Got> {
  return new Promise((resolve, reject) => {
    const r = httpRequest(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        headers: { ...headers, "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, text }));
      },
    );
    r.on("error", reject);
    r.end(body);
  });
}

const FORM = { "content-type": "application/x-www-form-urlencoded" };

describe("CORS", () => {
  test("app policy with explicit origins and credentials: preflight, actual request, refusals, Vary", async () => {
    const { app } = makeApp();
    app.cors({
      origins: ["https://app.example"],
      credentials: true,
      exposeHeaders: ["X-Total"],
      maxAge: 300,
    });
    app.route("/items", { methods: ["GET", "PUT"] }, () => [{ ok: true }, { "X-Total": "1" }]);
    app.get("/open", { cors: { origins: "*" } }, () => "anyone");
    app.get("/closed", { cors: false }, () => "nobody");
    const port = await serve(app);

    const pre = await send(port, "OPTIONS", "/items", {
      origin: "https://app.example",
      "access-control-request-method": "PUT",
      "access-control-request-headers": "content-type, x-token",
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers["access-control-allow-origin"], "https://app.example");
    assert.equal(pre.headers["access-control-allow-credentials"], "true");

    assert.match(pre.headers["access-control-allow-methods"]!, /PUT/);
    assert.equal(pre.headers["access-control-allow-headers"], "content-type, x-token");
    assert.equal(pre.headers["access-control-max-age"], "300");
    assert.match(String(pre.headers.vary), /Origin/);

    const bad = await send(port, "OPTIONS", "/items", {
      origin: "https://evil.example",
      "access-control-request-method": "PUT",
    });
    assert.equal(bad.status, 403);
    assert.equal(bad.headers["access-control-allow-origin"], undefined);
    const badMethod = await send(port, "OPTIONS", "/items", {
      origin: "https://app.example",
      "access-control-request-method": "DELETE",
    });
    assert.equal(badMethod.status, 403);
    assert.match(badMethod.text, /DELETE is not allowed/);

    const ok = await send(port, "GET", "/items", { origin: "https://app.example" });
    assert.equal(ok.headers["access-control-allow-origin"], "https://app.example");
    assert.equal(ok.headers["access-control-expose-headers"], "X-Total");
    assert.equal(ok.headers.vary, "Origin");
    const other = await send(port, "GET", "/items", { origin: "https://evil.example" });
    assert.equal(other.status, 200); // served, but the browser won't let the other site read it
    assert.equal(other.headers["access-control-allow-origin"], undefined);
    assert.equal(other.headers.vary, "Origin");

    const any = await send(port, "GET", "/open", { origin: "https://whoever.example" });
    assert.equal(any.headers["access-control-allow-origin"], "*");
    assert.equal(any.headers["access-control-allow-credentials"], undefined);
    const none = await send(port, "GET", "/closed", { origin: "https://app.example" });
    assert.equal(none.headers["access-control-allow-origin"], undefined);
  });

  test("credentials with '*' are refused when the policy is set; a RegExp must match the whole origin", async () => {
    const { app } = makeApp();
    assert.throws(() => app.cors({ credentials: true }), /credentials need explicit origins/);
    const bp = new Blueprint("api", { urlPrefix: "/api" });
    bp.cors({ origins: [/https:\/\/[a-z]+\.example\.com/] });
    bp.get("/x", () => "x");
    app.registerBlueprint(bp);
    const port = await serve(app);
    const good = await send(port, "GET", "/api/x", { origin: "https://shop.example.com" });
    assert.equal(good.headers["access-control-allow-origin"], "https://shop.example.com");
    const sneaky = await send(port, "GET", "/api/x", { origin: "https://shop.example.com.evil.net" });
    assert.equal(sneaky.headers["access-control-allow-origin"], undefined);
  });
});

describe("CORS beyond the routes", () => {
  test("the app's policy covers 404s, 405s, redirects and preflights for unknown paths; a blueprint's does not", async () => {
    const { app } = makeApp();
    app.cors({ origins: ["https://app.example"], credentials: true, maxAge: 120 });
    app.get("/items/", () => "items");
    app.post("/only-post", () => "posted");
    const bp = new Blueprint("api", { urlPrefix: "/api" });
    bp.cors({ origins: ["https://api-client.example"] });
    bp.get("/x", () => "x");
    app.registerBlueprint(bp);
    const port = await serve(app);
    const origin = "https://app.example";

    // A cross-origin fetch of a missing path can read its 404 (not a CORS error hiding the status).
    const missing = await send(port, "GET", "/nope", { origin });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers["access-control-allow-origin"], origin);
    assert.equal(missing.headers["access-control-allow-credentials"], "true");
    assert.match(String(missing.headers.vary), /Origin/);
    const wrongMethod = await send(port, "GET", "/only-post", { origin });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers["access-control-allow-origin"], origin);
    const redirect = await send(port, "GET", "/items", { origin });
    assert.equal(redirect.status, 308);
    assert.equal(
      redirect.headers["access-control-allow-origin"],
      origin,
      "a redirect must pass CORS to be followed",
    );

    // The preflight of a path no route has is answered by the app's policy (as @fastify/cors does)...
    const pre = await send(port, "OPTIONS", "/nope", {
      origin,
      "access-control-request-method": "DELETE",
      "access-control-request-headers": "x-token",
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers["access-control-allow-origin"], origin);
    assert.equal(pre.headers["access-control-allow-methods"], "DELETE");
    assert.equal(pre.headers["access-control-max-age"], "120");
    // ...and refused for an origin the policy doesn't name, saying why.
    const refused = await send(port, "OPTIONS", "/nope", {
      origin: "https://evil.example",
      "access-control-request-method": "DELETE",
    });
    assert.equal(refused.status, 403);
    assert.match(refused.text, /origin https:\/\/evil\.example is not allowed/);
    const other = await send(port, "GET", "/nope", { origin: "https://evil.example" });
    assert.equal(other.status, 404);
    assert.equal(other.headers["access-control-allow-origin"], undefined);

    // A blueprint's policy is its routes' (as Flask-CORS on a blueprint): a miss under its prefix gets
    // the app's policy, not the blueprint's.
    const bpMiss = await send(port, "GET", "/api/missing", { origin: "https://api-client.example" });
    assert.equal(bpMiss.status, 404);
    assert.equal(bpMiss.headers["access-control-allow-origin"], undefined);
    const bpHit = await send(port, "GET", "/api/x", { origin: "https://api-client.example" });
    assert.equal(bpHit.headers["access-control-allow-origin"], "https://api-client.example");
  });

  test("without an app policy, a 404 and an unknown path's OPTIONS carry no grants", async () => {
    const { app } = makeApp();
    app.get("/open", { cors: { origins: "*" } }, () => "anyone");
    const port = await serve(app);
    const missing = await send(port, "GET", "/nope", { origin: "https://app.example" });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers["access-control-allow-origin"], undefined);
    const pre = await send(port, "OPTIONS", "/nope", {
      origin: "https://app.example",
      "access-control-request-method": "GET",
    });
    assert.equal(pre.status, 404);
    assert.equal(pre.headers["access-control-allow-origin"], undefined);
  });
});

describe("CSRF", () => {
  function formApp(): Phial {
    const { app } = makeApp({ config: { secretKey: "s".repeat(32), csrfTokenRequired: true } });
    app.get("/form", () => `<input name="csrf_token" value="${csrfToken()}">`);
    app.post("/transfer", (req) => `moved ${req.form.get("amount")}`);
    app.post("/hook", { csrf: false }, () => "hook ok");
    app.post("/api", (req) => ({ got: req.json }));
    return app;
  }

  async function tokenAndCookie(port: number): Promise<{ token: string; cookie: string }> {
    const page = await send(port, "GET", "/form");
    const token = /value="([^"]+)"/.exec(page.text)![1]!;
    const cookie = String(page.headers["set-cookie"]![0]).split(";")[0]!;
    return { token, cookie };
  }

  test("a same-origin form with the session's token passes; a missing or foreign token is a 400", async () => {
    const port = await serve(formApp());
    const { token, cookie } = await tokenAndCookie(port);
    const origin = `http://127.0.0.1:${port}`;
    const ok = await send(
      port,
      "POST",
      "/transfer",
      { ...FORM, cookie, origin, "sec-fetch-site": "same-origin" },
      `amount=5&csrf_token=${token}`,
    );
    assert.equal(ok.status, 200);
    assert.equal(ok.text, "moved 5");
    const byHeader = await send(
      port,
      "POST",
      "/transfer",
      { ...FORM, cookie, "x-csrf-token": token },
      "amount=6",
    );
    assert.equal(byHeader.text, "moved 6");

    const missing = await send(port, "POST", "/transfer", { ...FORM, cookie, origin }, "amount=5");
    assert.equal(missing.status, 400);
    assert.match(missing.text, /CSRF token is missing/);
    const other = await tokenAndCookie(port); // another session's token
    const foreign = await send(
      port,
      "POST",
      "/transfer",
      { ...FORM, cookie, origin },
      `amount=5&csrf_token=${other.token}`,
    );
    assert.equal(foreign.status, 400);
    assert.match(foreign.text, /does not match this session/);
  });

  test("a cross-site form post is refused by Sec-Fetch-Site or Origin, even with a valid token", async () => {
    const port = await serve(formApp());
    const { token, cookie } = await tokenAndCookie(port);
    const body = `amount=1000&csrf_token=${token}`;
    const site = await send(
      port,
      "POST",
      "/transfer",
      { ...FORM, cookie, origin: "https://evil.example", "sec-fetch-site": "cross-site" },
      body,
    );
    assert.equal(site.status, 400);
    assert.match(site.text, /Sec-Fetch-Site is cross-site/);
    const origin = await send(
      port,
      "POST",
      "/transfer",
      { ...FORM, cookie, origin: "https://evil.example" },
      body,
    );
    assert.equal(origin.status, 400);
    assert.match(origin.text, /Origin https:\/\/evil.example is not this site/);
    // No Content-Type at all is checked too (hono GHSA-2234-fmw7-43wr), and text/plain with JSON in it.
    const noType = await send(port, "POST", "/transfer", { cookie, origin: "https://evil.example" }, body);
    assert.equal(noType.status, 400);
    const textPlain = await send(
      port,
      "POST",
      "/api",
      { cookie, "content-type": "text/plain", origin: "https://evil.example" },
      "{}",
    );
    assert.equal(textPlain.status, 400);
  });

  test("JSON APIs and exempt routes pass; by default a token is checked when sent, not required", async () => {
    const port = await serve(formApp());
    const json = await send(port, "POST", "/api", { "content-type": "application/json" }, '{"a":1}');
    assert.equal(json.status, 200);
    assert.deepEqual(JSON.parse(json.text), { got: { a: 1 } });
    const hook = await send(port, "POST", "/hook", { ...FORM, origin: "https://github.example" }, "x=1");
    assert.equal(hook.text, "hook ok");

    const { app } = makeApp({ config: { secretKey: "k".repeat(32) } });
    app.get("/form", () => csrfToken());
    app.post("/vote", () => "voted");
    const p2 = await serve(app);
    assert.equal((await send(p2, "POST", "/vote", FORM, "v=1")).status, 200); // no browser fields, no token
    assert.equal((await send(p2, "POST", "/vote", FORM, "csrf_token=forged")).status, 400); // sent: checked
    assert.equal(
      (await send(p2, "POST", "/vote", { ...FORM, "sec-fetch-site": "cross-site" }, "v=1")).status,
      400,
    );
    app.config.csrfTrustedOrigins = ["https://friend.example"];
    assert.equal(
      (await send(p2, "POST", "/vote", { ...FORM, origin: "https://friend.example" }, "v=1")).status,
      200,
    );
  });

  test("a WebSocket from another site's page is refused (cross-site WebSocket hijacking)", async () => {
    const { app } = makeApp();
    app.websocket("/live", async (ws) => {
      await ws.send("hi");
    });
    const port = await serve(app);
    const evil = new WebSocket(`ws://127.0.0.1:${port}/live`, { origin: "https://evil.example" });
    evil.on("error", () => undefined);
    const status = await new Promise<number | undefined>((r) =>
      evil.once("unexpected-response", (_req, res) => r(res.statusCode)),
    );
    assert.equal(status, 403);
    evil.terminate();
    const good = new WebSocket(`ws://127.0.0.1:${port}/live`, { origin: `http://127.0.0.1:${port}` });
    const msg = await new Promise<string>((r) => good.once("message", (d) => r(String(d))));
    assert.equal(msg, "hi");
    good.terminate();
  });
});

describe("security headers", () => {
  test("safe defaults when turned on; HSTS only on HTTPS (a trusted proxy's too); a CSP nonce per response", async () => {
    const { app } = makeApp({ config: { securityHeaders: true, trustProxy: "loopback" } });
    app.get("/", () => "home");
    app.get("/frame", () => ["framable", { "X-Frame-Options": "ALLOWALL" }]);
    const port = await serve(app);
    const r = await send(port, "GET", "/");
    assert.equal(r.headers["x-content-type-options"], "nosniff");
    assert.equal(r.headers["x-frame-options"], "SAMEORIGIN");
    assert.equal(r.headers["content-security-policy"], "frame-ancestors 'self'");
    assert.equal(r.headers["referrer-policy"], "strict-origin-when-cross-origin");
    assert.equal(r.headers["strict-transport-security"], undefined);
    const viaTls = await send(port, "GET", "/", { "x-forwarded-proto": "https" });
    assert.equal(viaTls.headers["strict-transport-security"], "max-age=31536000");
    assert.equal((await send(port, "GET", "/frame")).headers["x-frame-options"], "ALLOWALL"); // the view's own wins
    const missing = await send(port, "GET", "/nope");
    assert.equal(missing.status, 404);
    assert.equal(missing.headers["x-content-type-options"], "nosniff"); // error pages too

    const { app: app2 } = makeApp({
      config: {
        securityHeaders: { csp: "default-src 'self'; script-src 'nonce-{nonce}'", frameOptions: "DENY" },
      },
    });
    app2.get("/", () => app2.renderTemplateString('<script nonce="{{ cspNonce() }}">1</script>'));
    const p2 = await serve(app2);
    const a = await send(p2, "GET", "/");
    const b = await send(p2, "GET", "/");
    const nonceA = /nonce="([^"]+)"/.exec(a.text)![1]!;
    assert.equal(a.headers["content-security-policy"], `default-src 'self'; script-src 'nonce-${nonceA}'`);
    assert.equal(a.headers["x-frame-options"], "DENY");
    assert.notEqual(nonceA, /nonce="([^"]+)"/.exec(b.text)![1]);
  });
});
