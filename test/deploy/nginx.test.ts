// The deployment docs/deployment.md describes, for real: `phial run --workers 2 --trust-proxy …` behind an
// nginx (the Debian package, started here as a child on 127.0.0.1 with its own temporary config) that
// terminates TLS and keeps upstream connections alive. Through nginx we check the client address
// (a forged X-Forwarded-For is not believed past the trusted hop), the scheme, external URLs and
// redirects with the public host and prefix, both workers serving, upstream keep-alive, the access
// log, and that SIGTERM during requests and a streamed response drops nothing.
// Skipped when nginx is not installed (`apt-get install -y nginx-light`).

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { describeUnless, freePort, nginxConfig, nginxSkip, startNginx, stopNginx } from "../nginx-support.ts";

const skip = nginxSkip("the deployment test");

const root = fileURLToPath(new URL("../../", import.meta.url));
const tls = new URL("../fixtures/tls/", import.meta.url);
const CA = readFileSync(new URL("ca.pem", tls));
/** The test's "client" connects from 127.0.0.2, so it is not the proxy (127.0.0.1) the app trusts. */
const CLIENT_ADDR = "127.0.0.2";

interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One request on a fresh connection from CLIENT_ADDR (each request is a new client connection). */
function fetchVia(url: string, headers: Record<string, string> = {}): Promise<Got> {
  const u = new URL(url);
  const send = u.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      u,
      { headers, agent: false, localAddress: CLIENT_ADDR, ca: CA, servername: "localhost" },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

interface Info {
  pid: number;
  upstreamPort: number;
  remoteAddr: string;
  accessRoute: string[];
  scheme: string;
  isSecure: boolean;
  host: string;
  url: string;
  self: string;
  external: string;
}

/** The nginx config docs/deployment.md shows (ports and paths filled in by the test). */
function nginxConf(dir: string, appPort: number, hp: number, sp: number): string {
  return nginxConfig(
    dir,
    `  upstream phial_app {
    server 127.0.0.1:${appPort};
    keepalive 16;
  }

  server {
    listen 127.0.0.1:${hp};
    listen 127.0.0.1:${sp} ssl;
    ssl_certificate ${dir}/server.pem;
    ssl_certificate_key ${dir}/server.key;

    location /app/ {
      proxy_pass http://phial_app/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Prefix /app;
    }
  }`,
  );
}

describeUnless(skip)("phial run --workers 2 behind nginx", { timeout: 60_000 }, () => {
  let dir: string;
  let nginx: ChildProcess | undefined;
  let app: ChildProcess;
  let appOut = "";
  let appExit: Promise<unknown>;
  let http: string;
  let https: string;

  async function waitForOutput(re: RegExp, ms = 15_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = re.exec(appOut);
      if (m !== null) return m;
      if (app.exitCode !== null) throw new Error(`phial exited (${app.exitCode}):\n${appOut}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}:\n${appOut}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  before(async () => {
    app = spawn(
      process.execPath,
      [
        join(root, "bin", "phial.js"),
        "run",
        "test/deploy/fixtures/app.ts",
        "--port",
        "0",
        "--workers",
        "2",
        "--trust-proxy",
        "127.0.0.1",
        "--shutdown-timeout",
        "5000",
      ],
      {
        cwd: root,
        // The nginx below sets all four X-Forwarded-* fields itself, so the app may believe them.
        env: {
          ...process.env,
          NO_COLOR: "1",
          PHIAL_FORWARDED_HEADERS: "x-forwarded-for,x-forwarded-proto,x-forwarded-host,x-forwarded-prefix",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    for (const s of [app.stdout!, app.stderr!]) {
      s.setEncoding("utf8").on("data", (c: string) => {
        appOut += c;
      });
    }
    appExit = once(app, "exit");
    const m = await waitForOutput(/Running on http:\/\/127\.0\.0\.1:(\d+)\//);
    const appPort = Number(m[1]);

    dir = mkdtempSync(join(tmpdir(), "phial-deploy-"));
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, "server.pem"), readFileSync(new URL("server.pem", tls)));
    writeFileSync(join(dir, "server.key"), readFileSync(new URL("server.key", tls)));
    const hp = await freePort();
    const sp = await freePort();
    http = `http://localhost:${hp}`;
    https = `https://localhost:${sp}`;
    nginx = await startNginx(dir, nginxConf(dir, appPort, hp, sp), [hp, sp]);
  });

  after(async () => {
    await stopNginx(nginx);
    if (app !== undefined && app.exitCode === null) {
      app.kill("SIGKILL");
      await appExit;
    }
    if (dir !== undefined && process.env.KEEP === undefined) rmSync(dir, { recursive: true, force: true });
  });

  test("the client's address, not nginx's, and a forged X-Forwarded-For is not believed", async () => {
    const r = await fetchVia(`${http}/app/info`, { "X-Forwarded-For": "6.6.6.6, 127.0.0.1" });
    assert.equal(r.status, 200, r.text);
    const v = JSON.parse(r.text) as Info;
    assert.equal(v.remoteAddr, CLIENT_ADDR);
    assert.deepEqual(v.accessRoute, [CLIENT_ADDR, "127.0.0.1"]);
    assert.equal(v.scheme, "http");
  });

  test("https at nginx: scheme, host, prefix, urlFor(_external) and redirects use the public URL", async () => {
    const r = await fetchVia(`${https}/app/info?x=1`);
    const v = JSON.parse(r.text) as Info;
    assert.equal(v.scheme, "https");
    assert.equal(v.isSecure, true);
    assert.equal(v.host, new URL(https).host);
    assert.equal(v.url, `${https}/app/info?x=1`);
    assert.equal(v.self, "/app/info");
    assert.equal(v.external, `${https}/app/info`);
    const go = await fetchVia(`${https}/app/go`);
    assert.equal(go.status, 302);
    assert.equal(go.headers.location, "/app/info");
    const slash = await fetchVia(`${https}/app/dir`);
    assert.equal(slash.status, 308);
    assert.equal(slash.headers.location, "/app/dir/");
  });

  test("both workers serve, and nginx reuses its upstream connections", async () => {
    // Concurrent requests make nginx open several upstream connections, spread over the workers.
    const burst = await Promise.all(
      Array.from({ length: 16 }, () => fetchVia(`${http}/app/info`).then((r) => JSON.parse(r.text) as Info)),
    );
    const pids = new Set(burst.map((v) => v.pid));
    assert.equal(pids.size, 2, "both workers answered");
    // Then one at a time, each on a new client connection: the upstream connection is kept alive.
    const seq: Info[] = [];
    for (let i = 0; i < 20; i++) seq.push(JSON.parse((await fetchVia(`${http}/app/info`)).text) as Info);
    const conns = new Set(seq.map((v) => `${v.pid}:${v.upstreamPort}`));
    const all = new Set([...burst, ...seq].map((v) => `${v.pid}:${v.upstreamPort}`));
    console.log(`# upstream connections: ${conns.size} for 20 sequential requests, ${all.size} for all 36`);
    assert.ok(conns.size <= 2, `20 sequential requests used ${conns.size} upstream connections`);
    assert.ok(all.size < 36, `36 requests used ${all.size} upstream connections`);
  });

  test("every request is in the access log with the forwarded client", async () => {
    await fetchVia(`${http}/app/info?logged=1`);
    const line = await waitForOutput(/^(\S+) - "GET \/info\?logged=1 HTTP\/1\.1" 200 (\d+) [\d.]+ms$/m);
    assert.equal(line[1], CLIENT_ADDR);
    assert.ok(Number(line[2]) > 100);
  });

  test("SIGTERM during slow requests and a stream through nginx: every accepted one completes", async () => {
    const ids = ["s1", "s2", "s3", "s4", "s5", "s6"];
    const slow = ids.map((id) => fetchVia(`${http}/app/slow?id=${id}&ms=400`));
    const stream = fetchVia(`${https}/app/stream?id=st`);
    for (const id of [...ids, "st"]) await waitForOutput(new RegExp(`^started ${id}$`, "m"));
    const t0 = Date.now();
    app.kill("SIGTERM");
    const results = await Promise.all(slow);
    const st = await stream;
    const [code] = (await appExit) as [number | null];
    const stopMs = Date.now() - t0;
    for (const [i, r] of results.entries()) {
      assert.equal(r.status, 200, `${ids[i]}: ${r.status} ${r.text}`);
      assert.equal(r.text, `slow done ${ids[i]}`);
    }
    assert.equal(st.status, 200);
    assert.equal(st.text.split("\n").filter((l) => /^\d:x{1000}$/.test(l)).length, 5, "the whole stream");
    assert.equal(code, 0);
    assert.ok(stopMs < 5000, `stopped within the shutdown deadline (${stopMs} ms)`);
    console.log(`# SIGTERM to exit with 7 requests in flight: ${stopMs} ms`);
    // After the app is gone nginx answers 502 itself: refused new work, not a dropped request.
    assert.equal((await fetchVia(`${http}/app/info`)).status, 502);
  });
});
