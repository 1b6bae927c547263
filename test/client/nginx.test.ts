// Against a real nginx: started here on 127.0.0.1 with its own temporary config as a child process
// (not a daemon), over http and https (fixture certificate), static files, gzip, redirects,
// keep-alive, and proxying uploads to phial's own server. Skipped when nginx is not installed
// (`apt-get install -y nginx-light`; .ci/run installs it).

import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Client } from "phial/client";
import { describeUnless, freePort, nginxConfig, nginxSkip, startNginx, stopNginx } from "../nginx-support.ts";
import { phialServer, type Running } from "./helpers.ts";

const skip = nginxSkip("the nginx tests");

const fixtures = new URL("../fixtures/tls/", import.meta.url);
let seed = 7;
const BIG = Array.from({ length: 50000 }, () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return String(seed % 1000);
}).join(",");

describeUnless(skip)("against nginx", {}, () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let upstream: Running;
  let http: string;
  let https: string;

  before(async () => {
    upstream = await phialServer(async (req, res) => {
      const body = await req.body();
      res.setHeader("content-type", "application/json");
      res.end(
        JSON.stringify({
          method: req.method,
          url: req.url,
          len: body.length,
          sum: body.reduce((a, b) => a + b, 0),
        }),
      );
    });
    dir = mkdtempSync(join(tmpdir(), "phial-nginx-"));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, "www"));
    writeFileSync(join(dir, "www", "a.txt"), "static file\n");
    writeFileSync(join(dir, "www", "big.txt"), BIG);
    writeFileSync(join(dir, "server.pem"), readFileSync(new URL("server.pem", fixtures)));
    writeFileSync(join(dir, "server.key"), readFileSync(new URL("server.key", fixtures)));
    const hp = await freePort();
    const sp = await freePort();
    http = `http://127.0.0.1:${hp}`;
    https = `https://127.0.0.1:${sp}`;
    const conf = nginxConfig(
      dir,
      `  default_type text/plain;
  keepalive_timeout 30 30;
  keepalive_requests 1000;
  gzip on;
  gzip_types text/plain;
  gzip_min_length 100;
  server {
    listen 127.0.0.1:${hp};
    listen 127.0.0.1:${sp} ssl;
    ssl_certificate ${dir}/server.pem;
    ssl_certificate_key ${dir}/server.key;
    root ${dir}/www;
    location = /conn { return 200 "$connection $connection_requests"; }
    location = /moved { return 301 /a.txt; }
    location = /see-other { return 303 /conn; }
    location = /empty { return 204; }
    location /api/ {
      proxy_pass http://127.0.0.1:${upstream.port};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_request_buffering off;
      client_max_body_size 10m;
    }
  }`,
    );
    child = await startNginx(dir, conf, [hp, sp]);
  });

  after(async () => {
    await stopNginx(child);
    await upstream?.close();
    if (dir !== undefined && process.env.KEEP === undefined) rmSync(dir, { recursive: true, force: true });
  });

  for (const scheme of ["http", "https"] as const) {
    test(`${scheme}: static file, HEAD, 204, redirects`, async () => {
      const base = scheme === "http" ? http : https;
      const c = new Client({
        baseUrl: base,
        readTimeout: 3000,
        tls: { ca: readFileSync(new URL("ca.pem", fixtures)) },
      });
      try {
        const r = await c.get("/a.txt");
        assert.equal(r.status, 200);
        assert.match(r.headers.get("server") ?? "", /nginx/);
        assert.equal(await r.text(), "static file\n");
        const h = await c.head("/a.txt");
        assert.equal(h.headers.get("content-length"), "12");
        assert.equal(await h.text(), "");
        assert.equal((await c.get("/empty")).status, 204);
        const m = await c.get("/moved");
        assert.equal(m.url, `${base}/a.txt`);
        assert.equal(await m.text(), "static file\n");
        const s = await c.post("/see-other", { json: { a: 1 } });
        assert.equal(s.status, 200);
        assert.equal(s.redirected, true);
        await s.text();
        const missing = await c.get("/nope");
        assert.equal(missing.status, 404);
        assert.match(await missing.text(), /404 Not Found/);
      } finally {
        c.close();
      }
    });

    test(`${scheme}: gzip (chunked) bodies decode; keep-alive reuses one connection`, async () => {
      const base = scheme === "http" ? http : https;
      const c = new Client({
        baseUrl: base,
        readTimeout: 3000,
        tls: { ca: readFileSync(new URL("ca.pem", fixtures)) },
      });
      try {
        const r = await c.get("/big.txt");
        assert.equal(r.headers.get("content-encoding"), "gzip");
        assert.equal(r.headers.get("transfer-encoding"), "chunked");
        assert.equal(await r.text(), BIG);
        const ids = new Set<string>();
        for (let i = 0; i < 5; i++) ids.add((await (await c.get("/conn")).text()).split(" ")[0]!);
        assert.equal(ids.size, 1);
        assert.equal(c.stats(base).open, 1);
      } finally {
        c.close();
      }
    });

    test(`${scheme}: uploads through nginx to phial's server (fixed and chunked)`, async () => {
      const base = scheme === "http" ? http : https;
      const c = new Client({
        baseUrl: base,
        readTimeout: 3000,
        tls: { ca: readFileSync(new URL("ca.pem", fixtures)) },
      });
      try {
        const data = Buffer.alloc(200_000, 3);
        assert.deepEqual(await (await c.post("/api/fixed", { body: data })).json(), {
          method: "POST",
          url: "/api/fixed",
          len: 200_000,
          sum: 600_000,
        });
        async function* gen() {
          for (let i = 0; i < 50; i++) yield Buffer.alloc(4000, 1);
        }
        assert.deepEqual(await (await c.put("/api/chunked", { body: gen() })).json(), {
          method: "PUT",
          url: "/api/chunked",
          len: 200_000,
          sum: 200_000,
        });
      } finally {
        c.close();
      }
    });
  }
});
