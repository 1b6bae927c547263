// Proxies against a real one: Debian's tinyproxy, started here on 127.0.0.1 (a free port), with and
// without Basic authentication. Plain http goes through it with absolute-form targets; https through
// a CONNECT tunnel with TLS end to end.

import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Client, ConnectError, ConnectTimeoutError, proxyFromEnv } from "phial/client";
import type { Io, Output } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { phialServer, type Running } from "./helpers.ts";

const TINYPROXY = ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"].find(
  (p) => spawnSync(p, ["-v"]).status === 0,
);
const skip = TINYPROXY === undefined && "tinyproxy is not installed (apt-get install tinyproxy)";

const fixtures = new URL("../fixtures/tls/", import.meta.url);
const key = readFileSync(new URL("server.key", fixtures));
const cert = readFileSync(new URL("server.pem", fixtures));
const ca = readFileSync(new URL("ca.pem", fixtures));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const c = connect(port, "127.0.0.1");
      c.on("connect", () => {
        c.destroy();
        r(true);
      });
      c.on("error", () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`tinyproxy did not listen on ${port}`);
}

interface Proxy {
  url: string;
  port: number;
  log(): string;
  stop(): Promise<void>;
}

async function tinyproxy(dir: string, name: string, auth?: string): Promise<Proxy> {
  const port = await freePort();
  const conf = join(dir, `${name}.conf`);
  const log = join(dir, `${name}.log`);
  writeFileSync(
    conf,
    [
      `Port ${port}`,
      "Listen 127.0.0.1",
      "Timeout 30",
      "MaxClients 20",
      "Allow 127.0.0.1",
      "LogLevel Connect",
      `LogFile "${log}"`,
      `PidFile "${join(dir, `${name}.pid`)}"`,
      ...(auth === undefined ? [] : [`BasicAuth ${auth}`]),
      "",
    ].join("\n"),
  );
  writeFileSync(log, "");
  const child: ChildProcess = spawn(TINYPROXY!, ["-d", "-c", conf], { stdio: "ignore" });
  await waitForPort(port);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log: () => readFileSync(log, "utf8"),
    stop: () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null) return r();
        child.once("exit", () => r());
        child.kill("SIGTERM");
      }),
  };
}

class Capture implements Output {
  text = "";
  write(chunk: string | Uint8Array): boolean {
    this.text += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
    return true;
  }
}

describe("through a real proxy (tinyproxy)", { skip }, () => {
  let dir: string;
  let open: Proxy;
  let locked: Proxy;
  let plain: Running;
  let secure: Running;
  const echo = (req: { url: string; header(n: string): string | undefined }) =>
    JSON.stringify({
      url: req.url,
      via: req.header("via") ?? null,
      auth: req.header("proxy-authorization") ?? null,
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "phial-proxy-"));
    [open, locked] = await Promise.all([tinyproxy(dir, "open"), tinyproxy(dir, "locked", "ada s3cret")]);
    plain = await phialServer((req, res) => res.end(echo(req)));
    secure = await phialServer((req, res) => res.end(echo(req)), { tls: { key, cert } });
  });
  after(async () => {
    await Promise.all([open?.stop(), locked?.stop(), plain?.close(), secure?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test("http: the absolute URL goes to the proxy, which forwards it (its Via header arrives)", async () => {
    const c = new Client({ proxy: open.url });
    try {
      const seen = await (await c.get(`${plain.url}/hello?x=1`)).json<{ url: string; via: string }>();
      assert.equal(seen.url, "/hello?x=1");
      assert.match(seen.via, /tinyproxy/);
      assert.match(open.log(), new RegExp(`Request .*: GET ${plain.url}/hello\\?x=1 HTTP/1\\.1`));
    } finally {
      c.close();
    }
  });

  test("https: a CONNECT tunnel, TLS end to end (the proxy adds nothing), kept alive for the next request", async () => {
    const c = new Client({ proxy: open.url, tls: { ca } });
    try {
      const first = await (await c.get(`${secure.url}/a`)).json<{ url: string; via: string | null }>();
      assert.deepEqual(first, { url: "/a", via: null, auth: null });
      const second = await (await c.get(`https://localhost:${secure.port}/b`)).json<{ url: string }>();
      assert.equal(second.url, "/b");
      const log = open.log();
      assert.match(log, new RegExp(`CONNECT 127\\.0\\.0\\.1:${secure.port} HTTP/1\\.1`));
      assert.match(log, new RegExp(`CONNECT localhost:${secure.port} HTTP/1\\.1`));
      // Two origins, two tunnels; the second request on 127.0.0.1 would reuse the first.
      await (await c.get(`${secure.url}/c`)).text();
      assert.equal(log.split(`CONNECT 127.0.0.1:${secure.port}`).length - 1, 1);
    } finally {
      c.close();
    }
  });

  test("proxy credentials from the URL; without them a 407 (http) or a clear tunnel error (https)", async () => {
    const ok = new Client({ proxy: `http://ada:s3cret@127.0.0.1:${locked.port}`, tls: { ca } });
    const no = new Client({ proxy: locked.url, tls: { ca } });
    try {
      const seen = await (await ok.get(`${plain.url}/x`)).json<{ via: string; auth: string | null }>();
      assert.match(seen.via, /tinyproxy/);
      assert.equal(seen.auth, null); // the proxy takes its credentials off
      assert.equal((await (await ok.get(`${secure.url}/y`)).json<{ url: string }>()).url, "/y");
      const refused = await no.get(`${plain.url}/x`);
      assert.equal(refused.status, 407);
      await refused.cancel();
      const err = await no.get(`${secure.url}/y`).then(
        () => assert.fail("the tunnel was refused"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ConnectError);
      assert.match(
        err.message,
        new RegExp(
          `through the proxy 127\\.0\\.0\\.1:${locked.port}: the proxy .* refused the tunnel to 127\\.0\\.0\\.1:${secure.port}: 407 .*http://user:password@proxy:port`,
        ),
      );
    } finally {
      ok.close();
      no.close();
    }
  });

  test("noProxy hosts are reached directly; a dead proxy is a ConnectError that names it", async () => {
    const c = new Client({ proxy: { http: open.url, noProxy: "example.test, 127.0.0.0/8" } });
    try {
      const seen = await (await c.get(`${plain.url}/direct`)).json<{ via: string | null }>();
      assert.equal(seen.via, null);
    } finally {
      c.close();
    }
    const dead = new Client({ proxy: `http://127.0.0.1:${await freePort()}` });
    try {
      await assert.rejects(dead.get(`${plain.url}/`), (e: Error) => {
        assert.ok(e instanceof ConnectError);
        assert.match(e.message, /through the proxy 127\.0\.0\.1:\d+/);
        return true;
      });
    } finally {
      dead.close();
    }
  });

  test("phial get reads HTTP_PROXY/HTTPS_PROXY/NO_PROXY; --proxy and --no-proxy override them", async () => {
    const run = async (args: string[], env: Record<string, string>) => {
      const t: Io & { stdout: Capture; stderr: Capture } = {
        stdout: new Capture(),
        stderr: new Capture(),
        env,
        cwd: process.cwd(),
      };
      const code = await main(args, t);
      assert.equal(code, 0, t.stderr.text);
      return JSON.parse(t.stdout.text) as { via: string | null; url: string };
    };
    assert.match((await run(["get", `${plain.url}/e`], { HTTP_PROXY: open.url })).via!, /tinyproxy/);
    assert.equal(
      (await run(["get", `${plain.url}/e`], { HTTP_PROXY: open.url, NO_PROXY: "127.0.0.1" })).via,
      null,
    );
    assert.equal((await run(["get", "--no-proxy", `${plain.url}/e`], { HTTP_PROXY: open.url })).via, null);
    assert.match((await run(["get", "--proxy", open.url, `${plain.url}/e`], {})).via!, /tinyproxy/);
    // NO_PROXY still applies with --proxy, as with curl's -x.
    assert.equal(
      (await run(["get", "--proxy", open.url, `${plain.url}/e`], { NO_PROXY: "127.0.0.1" })).via,
      null,
    );
    const before = open.log().split("CONNECT 127.0.0.1").length;
    const s = await run(["get", "--cacert", "test/fixtures/tls/ca.pem", `${secure.url}/s`], {
      HTTPS_PROXY: open.url,
    });
    assert.equal(s.url, "/s");
    assert.equal(open.log().split("CONNECT 127.0.0.1").length, before + 1);
  });
});

test("a proxy that accepts but never answers CONNECT is a ConnectTimeoutError naming it", async () => {
  const held = new Set<import("node:net").Socket>();
  const stuck = createServer((s) => {
    held.add(s);
    s.on("error", () => {});
  });
  await new Promise<void>((r) => stuck.listen(0, "127.0.0.1", r));
  const port = (stuck.address() as AddressInfo).port;
  const c = new Client({ proxy: `http://127.0.0.1:${port}`, connectTimeout: 300 });
  try {
    await assert.rejects(c.get("https://example.test/"), (e: Error) => {
      assert.ok(e instanceof ConnectTimeoutError);
      assert.match(
        e.message,
        new RegExp(`https://example\\.test through the proxy 127\\.0\\.0\\.1:${port} took longer`),
      );
      return true;
    });
  } finally {
    c.close();
    for (const s of held) s.destroy();
    await new Promise((r) => stuck.close(r));
  }
});

test("proxyFromEnv: lower case first; HTTP_PROXY ignored under CGI (httpoxy)", () => {
  assert.deepEqual(proxyFromEnv({ http_proxy: "http://a:1", HTTP_PROXY: "http://b:2", NO_PROXY: "x" }), {
    http: "http://a:1",
    noProxy: "x",
  });
  assert.deepEqual(proxyFromEnv({ HTTP_PROXY: "http://evil:1", REQUEST_METHOD: "GET", HTTPS_PROXY: "p:3" }), {
    https: "p:3",
  });
  assert.throws(() => new Client({ proxy: "socks5://127.0.0.1:1080" }), /only http:\/\/ proxies/);
});
