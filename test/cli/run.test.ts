// `phial run` and `phial routes`, run as a user runs them: `node bin/phial.js ...` in a child process.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bin = join(root, "bin", "phial.js");
const fixtures = join(root, "test", "cli", "fixtures");

interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  /** Resolves with the first match of `re` in stderr+stdout, waiting for more output as needed. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

function phial(args: string[], env: NodeJS.ProcessEnv = {}, cwd = root): Proc {
  return watch("phial", [bin, ...args], { NO_COLOR: "1", ...env }, cwd);
}

/** Spawns `node argv…` with output collected, for waitFor() and stop(). */
function watch(name: string, argv: string[], env: NodeJS.ProcessEnv, cwd: string): Proc {
  const child = spawn(process.execPath, argv, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => {
    out += c;
  });
  child.stderr!.setEncoding("utf8").on("data", (c: string) => {
    err += c;
  });
  const exited = once(child, "exit");
  return {
    child,
    out: () => out,
    err: () => err,
    async waitFor(re, ms = 15_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = re.exec(err + out);
        if (m !== null) return m;
        if (child.exitCode !== null)
          throw new Error(`${name} exited (${child.exitCode}) before ${re}:\n${err}${out}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}:\n${err}${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null) child.kill(signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}

async function finished(p: Proc): Promise<number | null> {
  if (p.child.exitCode !== null) return p.child.exitCode;
  const [code] = (await once(p.child, "exit")) as [number | null];
  return code;
}

/** One request on a fresh connection (fetch would reuse one, and so one worker). */
function getFresh(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

async function get(url: string, init?: RequestInit): Promise<{ status: number; text: string; type: string }> {
  const r = await fetch(url, init);
  return { status: r.status, text: await r.text(), type: r.headers.get("content-type") ?? "" };
}

const LISTEN = /Running on (https?):\/\/127\.0\.0\.1:(\d+)\//;

/** A scratch folder inside the repository, so that `import "phial"` in it resolves to this package. */
function scratch(): string {
  const base = join(root, ".artifacts");
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, "cli-"));
}

/** Runs a TypeScript file as `npx tsx file.ts` would (with this repository's sources for "phial"). */
function tsxRun(file: string, env: NodeJS.ProcessEnv = {}): Proc {
  const argv = ["--import", "tsx", "--conditions=phial-source", file];
  return watch("tsx", argv, { NO_COLOR: "1", PHIAL_RUN_FROM_CLI: "", ...env }, root);
}

describe("app.run(), as Flask's if __name__ == '__main__'", () => {
  test("serves when its module is the one run", async () => {
    const p = tsxRun("test/cli/fixtures/run-only.ts");
    const m = await p.waitFor(/Running on http:\/\/127\.0\.0\.1:(\d+)/);
    assert.equal((await get(`http://127.0.0.1:${m[1]}/`)).text, "served, though not exported");
    assert.equal(await p.stop(), 0);
  });

  test("does nothing when its module is imported (by a test, by another module): the process ends", async () => {
    const p = tsxRun("test/cli/fixtures/imports-run-only.ts");
    const timer = setTimeout(() => p.child.kill("SIGKILL"), 15_000);
    assert.equal(await finished(p), 0, p.err());
    clearTimeout(timer);
    assert.equal(p.out(), "app.run() did not serve\nimported\n");
  });

  test("a port in use: one line naming the address and how to pick another, exit 1", async () => {
    const { createServer } = await import("node:net");
    const taken = createServer().listen(0, "127.0.0.1");
    await once(taken, "listening");
    const port = (taken.address() as { port: number }).port;
    try {
      const p = tsxRun("test/cli/fixtures/run-only.ts", { FIXTURE_PORT: String(port) });
      assert.equal(await finished(p), 1);
      assert.equal(
        p.err(),
        `127.0.0.1:${port} is already in use (another server, or an earlier run still going): ` +
          `stop it, or pick another port (app.run({ port: ${port + 1} })).\n`,
      );
    } finally {
      taken.close();
    }
  });
});

describe("phial run", () => {
  test("serves the app, prints where, ignores app.run() in the module, stops on SIGTERM", async () => {
    const p = phial(["run", "test/cli/fixtures/hello.ts", "--port", "0"]);
    const m = await p.waitFor(LISTEN);
    const base = `http://127.0.0.1:${m[2]}`;
    assert.match((await get(`${base}/`)).text, /^hello from \d+$/);
    assert.deepEqual(JSON.parse((await get(`${base}/user/42`)).text), { id: 42 });
    assert.doesNotMatch(p.err() + p.out(), /5999/, "app.run() did not start a second server");
    assert.equal(await p.stop(), 0);
  });

  test("--keep-alive-timeout reaches the wire: the hint says so and an idle connection closes", async () => {
    const p = phial(["run", "test/cli/fixtures/hello.ts", "--port", "0", "--keep-alive-timeout", "1500"]);
    const m = await p.waitFor(LISTEN);
    const { connect } = await import("node:net");
    const sock = connect(Number(m[2]), "127.0.0.1");
    let got = "";
    sock.setEncoding("latin1").on("data", (d: string) => {
      got += d;
    });
    const closed = once(sock, "close");
    sock.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const t0 = Date.now();
    await closed; // the server closes the idle connection by itself
    const idle = Date.now() - t0;
    assert.match(got, /\r\nKeep-Alive: timeout=1\r\n/);
    assert.ok(idle >= 1400 && idle < 4000, `closed after ${idle} ms`);
    assert.equal(await p.stop(), 0);
  });

  test("finds a createApp() factory, and the app named by PHIAL_APP", async () => {
    const p = phial(["run", "--port", "0"], { PHIAL_APP: "test/cli/fixtures/factory.ts" });
    const m = await p.waitFor(LISTEN);
    assert.equal((await get(`http://127.0.0.1:${m[2]}/`)).text, "made by a factory");
    assert.equal(await p.stop(), 0);
    const q = phial(["run", "test/cli/fixtures/factory.ts:createApp()", "--port", "0"]);
    await q.waitFor(LISTEN);
    assert.equal(await q.stop(), 0);
  });

  test("serves a module that exports no app but calls app.run() (the README's quick start)", async () => {
    const p = phial(["run", "test/cli/fixtures/run-only.ts", "--port", "0"]);
    const m = await p.waitFor(LISTEN);
    assert.equal((await get(`http://127.0.0.1:${m[2]}/`)).text, "served, though not exported");
    assert.match(p.out(), /app.run\(\) did not serve/);
    assert.equal(await p.stop(), 0);
  });

  test("a port in use: one line naming the address and --port, no stack, exit 1", async () => {
    const { createServer } = await import("node:net");
    const taken = createServer().listen(0, "127.0.0.1");
    await once(taken, "listening");
    const port = (taken.address() as { port: number }).port;
    try {
      const p = phial(["run", "test/cli/fixtures/hello.ts", "--port", String(port)]);
      assert.equal(await finished(p), 1);
      assert.equal(
        p.err(),
        `phial: 127.0.0.1:${port} is already in use (another server, or an earlier run still going): ` +
          `stop it, or pick another port (--port ${port + 1}).\n`,
      );
    } finally {
      taken.close();
    }
  });

  test("a port in use with --workers 2: the same line once (not once per worker), exit 3", async () => {
    const { createServer } = await import("node:net");
    const taken = createServer().listen(0, "127.0.0.1");
    await once(taken, "listening");
    const port = (taken.address() as { port: number }).port;
    try {
      const p = phial(["run", "test/cli/fixtures/hello.ts", "--port", String(port), "--workers", "2"]);
      assert.equal(await finished(p), 3);
      assert.equal(
        p.err(),
        `phial: 127.0.0.1:${port} is already in use (another server, or an earlier run still going): ` +
          `stop it, or pick another port (--port ${port + 1}).\n`,
      );
    } finally {
      taken.close();
    }
  });

  test("an app that imports a package not installed: one line, no stack", async () => {
    const dir = scratch();
    try {
      writeFileSync(join(dir, "app.ts"), 'import "no-such-package-here";\nexport {};\n');
      const p = phial(["run", join(dir, "app.ts"), "--port", "0"]);
      assert.equal(await finished(p), 2);
      assert.match(
        p.err(),
        /^phial: Loading .*app\.ts failed: Cannot find package 'no-such-package-here' .*npm install.*\n$/,
      );
      assert.doesNotMatch(p.err(), /\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("explains what is wrong when there is no app, and exits non-zero", async () => {
    const p = phial(["run", "test/cli/fixtures/no-app.ts", "--port", "0"]);
    assert.notEqual(await finished(p), 0);
    assert.match(p.err(), /exports no Phial app.*export const app = new Phial/s);
    const q = phial(["run", "test/cli/fixtures/missing.ts"]);
    assert.notEqual(await finished(q), 0);
    assert.match(q.err(), /Can't find "test\/cli\/fixtures\/missing\.ts"/);
    const dir = scratch();
    try {
      const r = phial(["run"], { PHIAL_APP: "" }, dir);
      assert.notEqual(await finished(r), 0);
      assert.match(r.err(), /No app to serve: name one/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("debug mode refuses a non-loopback address unless told", async () => {
    const p = phial(["run", "test/cli/fixtures/hello.ts", "--debug", "--host", "0.0.0.0"]);
    assert.equal(await finished(p), 2);
    assert.match(p.err(), /only listens on loopback.*--allow-remote-debug/s);
  });

  test("debug mode: the error page shows the exception and the app's source, HTML or text", async () => {
    const p = phial(["run", "test/cli/fixtures/hello.ts", "--port", "0", "--debug", "--no-reload"]);
    const m = await p.waitFor(LISTEN);
    const base = `http://127.0.0.1:${m[2]}`;
    const html = await get(`${base}/boom`, { headers: { accept: "text/html" } });
    assert.equal(html.status, 500);
    assert.match(html.type, /text\/html/);
    assert.match(html.text, /Error: the view blew up/);
    assert.match(html.text, /throw new Error\(&quot;the view blew up&quot;\)/);
    const text = await get(`${base}/boom`);
    assert.match(text.type, /text\/plain/);
    assert.match(text.text, /hello\.ts:\d+/);
    assert.equal(await p.stop(), 0);
    // Without --debug the client learns nothing of the exception.
    const q = phial(["run", "test/cli/fixtures/hello.ts", "--port", "0"]);
    const n = await q.waitFor(LISTEN);
    const prod = await get(`http://127.0.0.1:${n[2]}/boom`, { headers: { accept: "text/html" } });
    assert.equal(prod.status, 500);
    assert.doesNotMatch(prod.text, /blew up|hello\.ts/);
    assert.equal(await q.stop(), 0);
  });

  test("--debug reloads on a source change: the new code serves, the in-flight request finishes", async () => {
    const dir = scratch();
    try {
      const file = join(dir, "app.ts");
      cpSync(join(fixtures, "hello.ts"), file);
      const p = phial(["run", file, "--port", "0", "--debug"]);
      const m = await p.waitFor(LISTEN);
      const base = `http://127.0.0.1:${m[2]}`;
      const inFlight = get(`${base}/slow`);
      await new Promise((r) => setTimeout(r, 50));
      writeFileSync(file, readFileSync(file, "utf8").replace("hello from", "reloaded from"));
      const edited = Date.now();
      await p.waitFor(/Reloaded/, 20_000);
      // Once the new worker says it serves, new connections reach it (a kept-alive one may still
      // reach the old worker until it closes, which it does as soon as it is idle).
      let text = "";
      const reloaded = Date.now();
      while (!text.startsWith("reloaded") && Date.now() - reloaded < 2000) {
        text = await getFresh(`${base}/`).catch((e: Error) => `error ${e.message}`);
      }
      assert.match(text, /^reloaded from \d+$/, `phial said:\n${p.err()}${p.out()}`);
      // Typically ~1 s on an idle machine (a new worker compiles the app); generous for a loaded CI box.
      assert.ok(Date.now() - edited < 20_000, `reloaded in ${Date.now() - edited} ms`);
      assert.equal((await inFlight).text, "slow done");
      assert.equal(await p.stop(), 0, `phial said:\n${p.err()}${p.out()}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--workers 2 serves from two processes and replaces one that dies", async (t) => {
    const p = phial(["run", "test/cli/fixtures/hello.ts", "--port", "0", "--workers", "2"]);
    // A failed assertion must not leave the processes running (and the test file waiting on them).
    t.after(() => p.child.exitCode === null && p.child.kill("SIGKILL"));
    // Two workers each compile the app: on a loaded machine that takes well over 15 s.
    const m = await p.waitFor(LISTEN, 60_000);
    const base = `http://127.0.0.1:${m[2]}`;
    const pids = new Set<string>();
    for (let i = 0; i < 40 && pids.size < 2; i++) {
      pids.add(await getFresh(`${base}/`));
    }
    assert.equal(pids.size, 2, "both workers answer");
    await getFresh(`${base}/exit`);
    await p.waitFor(/died .*starting another/);
    await p.waitFor(/is serving \(replaced one that died\)/);
    const after = new Set<string>();
    for (let i = 0; i < 60 && after.size < 2; i++) {
      const r = await getFresh(`${base}/`).catch(() => undefined);
      if (r !== undefined) after.add(r);
    }
    assert.equal(after.size, 2, "two workers again");
    assert.equal(await p.stop(), 0);
  });

  test("SIGTERM under a steady stream of requests: every accepted request is answered", async () => {
    const p = phial(["run", "test/cli/fixtures/hello.ts", "--port", "0"]);
    const m = await p.waitFor(LISTEN);
    const base = `http://127.0.0.1:${m[2]}`;
    let ok = 0;
    let refused = 0;
    const failures: string[] = [];
    let stop = false;
    const worker = async () => {
      while (!stop) {
        try {
          const r = await get(`${base}/slow`);
          if (r.status === 200 && r.text === "slow done") ok++;
          else failures.push(`${r.status} ${r.text}`);
        } catch (err) {
          // After the listener closed, new connections are refused: that is not a dropped request.
          const code = (err as { cause?: { code?: string } }).cause?.code;
          if (code === "ECONNREFUSED") {
            refused++;
            stop = true;
          } else failures.push(String((err as Error).cause ?? err));
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    await new Promise((r) => setTimeout(r, 700));
    p.child.kill("SIGTERM");
    const code = await finished(p);
    stop = true;
    await Promise.all(workers);
    assert.equal(code, 0);
    assert.deepEqual(failures, [], "no accepted request failed");
    assert.ok(ok >= 8, `requests were served (${ok}; refused after close: ${refused})`);
  });
});

describe("phial routes", () => {
  test("lists endpoints, methods and rules as a table", async () => {
    const p = phial(["routes", "test/cli/fixtures/hello.ts"]);
    assert.equal(await finished(p), 0);
    const lines = p.out().trimEnd().split("\n");
    assert.match(lines[0]!, /^Endpoint\s+Methods\s+Rule$/);
    assert.match(lines[1]!, /^-+\s+-+\s+-+$/);
    assert.ok(
      lines.some((l) => /^boom\s+GET\s+\/boom$/.test(l)),
      p.out(),
    );
    assert.ok(
      lines.some((l) => /\s+POST\s+\/echo$/.test(l)),
      p.out(),
    );
    const sorted = phial(["routes", "test/cli/fixtures/hello.ts", "--sort", "rule"]);
    assert.equal(await finished(sorted), 0);
    const rules = sorted
      .out()
      .trimEnd()
      .split("\n")
      .slice(2)
      .map((l) => l.split(/\s+/).at(-1)!);
    assert.deepEqual(rules, [...rules].sort());
  });

  test("under subdomain matching, a Subdomain column as flask routes has", async () => {
    const p = phial(["routes", "test/cli/fixtures/subdomains.ts"]);
    assert.equal(await finished(p), 0);
    const lines = p.out().trimEnd().split("\n");
    assert.match(lines[0]!, /^Endpoint\s+Methods\s+Subdomain\s+Rule$/);
    assert.ok(
      lines.some((l) => /^index\s+GET\s+\/$/.test(l)),
      p.out(),
    );
    assert.ok(
      lines.some((l) => /^userHome\s+GET\s+<user>\s+\/$/.test(l)),
      p.out(),
    );
  });

  test("help for each command", async () => {
    const p = phial(["run", "--help"]);
    assert.equal(await finished(p), 0);
    assert.match(p.out(), /Usage: phial run \[APP\]/);
    const q = phial(["routes", "--help"]);
    assert.equal(await finished(q), 0);
    assert.match(q.out(), /Usage: phial routes/);
    const r = phial(["--help"]);
    assert.equal(await finished(r), 0);
    assert.match(r.out(), /run\s+.*\n/);
  });
});
