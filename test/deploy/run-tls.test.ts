// `phial run --cert/--key` serving HTTPS itself (no proxy), with two workers, and the access log on
// stdout by default (off with --no-access-log), as docs/deployment.md describes.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const tls = fileURLToPath(new URL("../fixtures/tls/", import.meta.url));
const CA = readFileSync(join(tls, "ca.pem"));

function start(extra: string[]): { child: ChildProcess; out: () => string; port: Promise<number> } {
  const child = spawn(
    process.execPath,
    [
      join(root, "bin", "phial.js"),
      "run",
      "test/deploy/fixtures/app.ts",
      "--port",
      "0",
      "--cert",
      join(tls, "server.pem"),
      "--key",
      join(tls, "server.key"),
      ...extra,
    ],
    { cwd: root, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => {
    out += c;
  });
  child.stderr!.setEncoding("utf8").on("data", (c: string) => {
    out += c;
  });
  const port = (async () => {
    for (let i = 0; i < 1500; i++) {
      const m = /Running on https:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m !== null) return Number(m[1]);
      if (child.exitCode !== null) throw new Error(`phial exited (${child.exitCode}):\n${out}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`phial did not start:\n${out}`);
  })();
  return { child, out: () => out, port };
}

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, { ca: CA, servername: "localhost", agent: false }, (res) => {
      let t = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        t += c;
      });
      res.on("end", () => resolve(t));
    })
      .on("error", reject)
      .end();
  });
}

test("phial run --cert/--key --workers 2 serves HTTPS from both workers and logs each request", async () => {
  const p = start(["--workers", "2"]);
  try {
    const port = await p.port;
    const pids = new Set<number>();
    for (let i = 0; i < 40 && pids.size < 2; i++) {
      const v = JSON.parse(await get(`https://localhost:${port}/info`)) as { pid: number; scheme: string };
      assert.equal(v.scheme, "https");
      pids.add(v.pid);
    }
    assert.equal(pids.size, 2);
    for (let i = 0; i < 100 && !/"GET \/info HTTP\/1\.1" 200 \d+ /.test(p.out()); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.match(p.out(), /^127\.0\.0\.1 - "GET \/info HTTP\/1\.1" 200 \d+ [\d.]+ms$/m);
  } finally {
    p.child.kill("SIGTERM");
    await once(p.child, "exit");
  }
});

test("--no-access-log: nothing per request", async () => {
  const p = start(["--no-access-log"]);
  try {
    const port = await p.port;
    await get(`https://localhost:${port}/info`);
    await get(`https://localhost:${port}/info`);
  } finally {
    p.child.kill("SIGTERM");
    await once(p.child, "exit");
  }
  assert.doesNotMatch(p.out(), /"GET \/info/);
});
