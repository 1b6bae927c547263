import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client, RedirectError } from "phial/client";
import type { IncomingRequest } from "phial/http";
import { phialServer, type Running } from "./helpers.ts";

interface Seen {
  method: string;
  url: string;
  body: string;
  authorization: string | undefined;
  cookie: string | undefined;
  proxyAuthorization: string | undefined;
  contentType: string | undefined;
  host: string | undefined;
}

function seen(req: IncomingRequest, body: string): Seen {
  return {
    method: req.method,
    url: req.url,
    body,
    authorization: req.header("authorization"),
    cookie: req.header("cookie"),
    proxyAuthorization: req.header("proxy-authorization"),
    contentType: req.header("content-type"),
    host: req.header("host"),
  };
}

describe("redirects", () => {
  let a: Running;
  let b: Running;
  before(async () => {
    // b is another origin (another port).
    b = await phialServer(async (req, res) => {
      const body = (await req.body()).toString();
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(seen(req, body)));
    });
    a = await phialServer(async (req, res) => {
      const body = (await req.body()).toString();
      const u = new URL(req.url, "http://x");
      const m = /^\/r(\d{3})$/.exec(u.pathname);
      if (m !== null) {
        const to = u.searchParams.get("to") ?? "/final";
        res.writeHead(Number(m[1]), { location: to.replace("{b}", b.url) });
        res.end("redirecting");
        return;
      }
      if (u.pathname === "/loop") {
        res.writeHead(302, { location: "/loop" });
        res.end();
        return;
      }
      if (u.pathname === "/setcookie") {
        res.writeHead(302, { location: "/final", "set-cookie": "sid=abc; Path=/" });
        res.end();
        return;
      }
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(seen(req, body)));
    });
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  for (const st of [301, 302, 303]) {
    test(`${st} turns a POST into a GET without body or body headers`, async () => {
      const c = new Client();
      try {
        const r = await c.post(`${a.url}/r${st}`, { json: { x: 1 } });
        assert.equal(r.redirected, true);
        assert.equal(r.url, `${a.url}/final`);
        const s = await r.json<Seen>();
        assert.deepEqual([s.method, s.body, s.contentType], ["GET", "", undefined]);
      } finally {
        c.close();
      }
    });
  }

  test("303 turns a PUT into a GET too; 301 keeps a PUT", async () => {
    const c = new Client();
    try {
      assert.equal((await (await c.put(`${a.url}/r303`, { body: "x" })).json<Seen>()).method, "GET");
      const s = await (await c.put(`${a.url}/r301`, { body: "x" })).json<Seen>();
      assert.deepEqual([s.method, s.body], ["PUT", "x"]);
    } finally {
      c.close();
    }
  });

  for (const st of [307, 308]) {
    test(`${st} keeps the method and the body`, async () => {
      const c = new Client();
      try {
        const s = await (await c.post(`${a.url}/r${st}`, { json: { x: 1 } })).json<Seen>();
        assert.deepEqual([s.method, s.body, s.contentType], ["POST", '{"x":1}', "application/json"]);
      } finally {
        c.close();
      }
    });
  }

  test("a 307 with a one-shot stream body is a clear error", async () => {
    const c = new Client();
    async function* gen() {
      yield "x";
    }
    try {
      await assert.rejects(
        c.post(`${a.url}/r307`, { body: gen() }),
        (e: unknown) => e instanceof RedirectError && /one-shot stream/.test(e.message),
      );
    } finally {
      c.close();
    }
  });

  test("the redirect limit stops a loop with a clear error", async () => {
    const c = new Client({ maxRedirects: 5 });
    try {
      await assert.rejects(
        c.get(`${a.url}/loop`),
        (e: unknown) => e instanceof RedirectError && /More than 5 redirects/.test(e.message),
      );
    } finally {
      c.close();
    }
  });

  test("redirect: manual returns the 3xx; redirect: error throws", async () => {
    const c = new Client();
    try {
      const r = await c.get(`${a.url}/r302`, { redirect: "manual" });
      assert.equal(r.status, 302);
      assert.equal(r.headers.get("location"), "/final");
      assert.equal(await r.text(), "redirecting");
      await assert.rejects(c.get(`${a.url}/r302`, { redirect: "error" }), RedirectError);
    } finally {
      c.close();
    }
  });

  test("Authorization, Cookie and Proxy-Authorization are not sent to another origin", async () => {
    const c = new Client({ headers: { Authorization: "Bearer default" } });
    try {
      const headers = { Authorization: "Bearer secret", Cookie: "x=1", "Proxy-Authorization": "Basic p" };
      const same = await (await c.get(`${a.url}/r302?to=/final`, { headers })).json<Seen>();
      assert.equal(same.authorization, "Bearer secret");
      assert.equal(same.cookie, "x=1");
      const other = await (await c.get(`${a.url}/r302?to={b}/there`, { headers })).json<Seen>();
      assert.equal(other.url, "/there");
      assert.equal(other.authorization, undefined);
      assert.equal(other.cookie, undefined);
      assert.equal(other.proxyAuthorization, undefined);
      // A default Authorization header is stripped as well.
      const other2 = await (await c.get(`${a.url}/r307?to={b}/again`)).json<Seen>();
      assert.equal(other2.authorization, undefined);
    } finally {
      c.close();
    }
  });

  test("a caller-set Host is kept on the same origin and dropped on a cross-origin redirect", async () => {
    const c = new Client();
    try {
      const headers = { Host: "vhost.example" };
      const same = await (await c.get(`${a.url}/r302?to=/final`, { headers })).json<Seen>();
      assert.equal(same.host, "vhost.example");
      // On b, the Host is b's own, not the first origin's virtual host.
      const other = await (await c.get(`${a.url}/r307?to={b}/there`, { headers })).json<Seen>();
      assert.equal(other.url, "/there");
      assert.equal(other.host, new URL(b.url).host);
    } finally {
      c.close();
    }
  });

  test("the same host on another port is another origin", async () => {
    const c = new Client();
    try {
      // b.url is 127.0.0.1 with another port.
      const s = await (
        await c.get(`${a.url}/r301?to={b}/p`, { headers: { authorization: "x" } })
      ).json<Seen>();
      assert.equal(s.authorization, undefined);
    } finally {
      c.close();
    }
  });

  test("a redirect to a non-HTTP scheme is not followed", async () => {
    const c = new Client();
    try {
      await assert.rejects(c.get(`${a.url}/r302?to=file:///etc/passwd`), /non-HTTP URL/);
    } finally {
      c.close();
    }
  });

  test("cookies set by a redirect are sent on the next hop, and only to their origin", async () => {
    const c = new Client({ cookies: true });
    try {
      const s = await (await c.get(`${a.url}/setcookie`)).json<Seen>();
      assert.equal(s.cookie, "sid=abc");
      const other = await (await c.get(`${b.url}/x`)).json<Seen>();
      // Host-only cookies are per host, not per port (RFC 6265 §8.5), so 127.0.0.1:other gets it too.
      assert.equal(other.cookie, "sid=abc");
      assert.equal(c.jar?.all().length, 1);
    } finally {
      c.close();
    }
  });
});
