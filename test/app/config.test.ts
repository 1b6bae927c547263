// app.config: defaults, objects, PHIAL_* variables; app.run and request logging.

import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, test } from "node:test";
import { DEFAULT_CONFIG, Phial } from "phial";
import { makeApp } from "./helpers.ts";

describe("app.config", () => {
  test("Flask's defaults in camelCase", () => {
    const { app } = makeApp();
    assert.equal(app.config.debug, false);
    assert.equal(app.config.sessionCookieName, "session");
    assert.equal(app.config.maxContentLength, DEFAULT_CONFIG.maxContentLength);
    assert.equal(app.config.preferredUrlScheme, "http");
    assert.equal(app.config.secretKey, undefined);
  });

  test("from an object: camelCase or Flask's UPPER_CASE keys; __proto__ ignored", () => {
    const app = new Phial(import.meta.url, {
      fromEnv: false,
      config: { SECRET_KEY: "s1", maxContentLength: 10 },
    });
    assert.equal(app.config.secretKey, "s1");
    assert.equal(app.config.maxContentLength, 10);
    app.config.fromObject(JSON.parse('{"SESSION_COOKIE_NAME": "sid", "__proto__": {"polluted": true}}'));
    assert.equal(app.config.sessionCookieName, "sid");
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(app.config.polluted, undefined);
  });

  test("from PHIAL_* variables, typed by the setting they replace", () => {
    const { app } = makeApp();
    app.config.fromEnv("PHIAL", {
      PHIAL_SECRET_KEY: "12345",
      PHIAL_DEBUG: "1",
      PHIAL_MAX_CONTENT_LENGTH: "2048",
      PHIAL_SESSION_COOKIE_SECURE: "true",
      PHIAL_MY_FEATURE: '{"on":true}',
      PHIAL_PLAIN: "hello",
      OTHER_DEBUG: "0",
    });
    assert.equal(app.config.secretKey, "12345", "a numeric-looking secret stays a string");
    assert.equal(app.config.debug, true);
    assert.equal(app.config.maxContentLength, 2048);
    assert.equal(app.config.sessionCookieSecure, true);
    assert.deepEqual(app.config.myFeature, { on: true });
    assert.equal(app.config.plain, "hello");
    assert.throws(
      () => app.config.fromEnv("PHIAL", { PHIAL_MAX_CONTENT_LENGTH: "lots" }),
      /must be a number/,
    );
    assert.throws(() => app.config.fromEnv("PHIAL", { PHIAL_DEBUG: "maybe" }), /must be a boolean/);
  });

  test("the constructor reads process.env PHIAL_* (unless fromEnv: false)", () => {
    process.env.PHIAL_SERVER_NAME = "from-env.test";
    try {
      assert.equal(new Phial(import.meta.url).config.serverName, "from-env.test");
      assert.equal(new Phial(import.meta.url, { fromEnv: false }).config.serverName, undefined);
    } finally {
      delete process.env.PHIAL_SERVER_NAME;
    }
  });

  test("folders resolve against the app's file, never the cwd", () => {
    const app = new Phial(import.meta.url, { fromEnv: false, templateFolder: "tpl" });
    assert.match(app.root, /test[/\\]app$/);
    assert.match(app.templateFolder, /test[/\\]app[/\\]tpl$/);
    assert.match(app.staticFolder ?? "", /test[/\\]app[/\\]static$/);
  });
});

/** Sends raw bytes and reads until the server closes. */
function rawExchange(port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let out = "";
    s.setEncoding("latin1");
    s.on("data", (d: string) => {
      out += d;
    });
    s.on("end", () => resolve(out));
    s.on("error", reject);
    s.write(data);
  });
}

describe("app.run", () => {
  test("listens on host/port, says where, and logs requests in debug mode", async () => {
    const { app, logs } = makeApp();
    app.get("/", () => "hello");
    const server = await app.run({ host: "127.0.0.1", port: 0, debug: true });
    assert.ok(server);
    try {
      const port = server.address()!.port;
      assert.ok(logs.some((l) => l.message.includes(`Running on http://127.0.0.1:${port}`)));
      assert.ok(logs.some((l) => /debug mode: on/i.test(l.message)));
      const out = await rawExchange(port, "GET /?x=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
      assert.match(out, /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(out, /\r\n\r\nhello$/);
      const line = logs.find((l) => l.message.includes('"GET /?x=1 HTTP/1.1" 200'));
      assert.ok(line, "the request was logged");
      assert.match(line.message, /^127\.0\.0\.1 - /);
    } finally {
      await server.close();
    }
  });

  test("outside debug mode every request is logged too (as Flask's dev server), unless logRequests is false", async () => {
    for (const [logRequests, expected] of [
      [undefined, 1],
      [false, 0],
    ] as const) {
      const { app, logs } = makeApp({ config: { logRequests } });
      app.get("/", () => "quiet");
      const server = (await app.run({ port: 0 }))!;
      try {
        await rawExchange(server.address()!.port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        assert.equal(logs.filter((l) => l.message.includes('"GET / HTTP/1.1" 200 5 ')).length, expected);
      } finally {
        await server.close();
      }
    }
  });

  test("does nothing under `phial run` (the CLI serves the app)", async () => {
    const { app } = makeApp();
    process.env.PHIAL_RUN_FROM_CLI = "1";
    try {
      assert.equal(await app.run({ port: 0 }), undefined);
    } finally {
      delete process.env.PHIAL_RUN_FROM_CLI;
    }
  });
});
