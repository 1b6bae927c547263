// docs/deployment.md's "many machines", for real: a redis-server, three instances of the demo (three
// `phial run --workers 2` process trees, each its own process group, sharing REDIS_URL, the secret key
// and the data folder), and nginx in front balancing over them, all on 127.0.0.1 on free ports.
// Checked: a session made on one instance is used on the others; sign-out revokes it everywhere; the
// sign-in limit holds across instances; a chat message typed in chromium on one instance reaches the
// chromium pages connected to the others (directly and through nginx); one instance killed (SIGKILL to
// its whole process group) in the middle of 20,000 requests through nginx loses no session and fails no
// request. Skipped when nginx or redis-server (or, for the browser part, chromium) is not installed.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { UserStore } from "../../demo/users.ts";
import { freePort, nginxConfig, nginxSkip, startNginx, stopNginx } from "../nginx-support.ts";
import { RedisServer, redisSkip } from "../redis-support.ts";

const skip =
  nginxSkip("the many-instances deployment test") || redisSkip("the many-instances deployment test");
const root = fileURLToPath(new URL("../../", import.meta.url));
const INSTANCES = 3;
const LOAD = 20_000;
const CONCURRENCY = 32;
const CHROMIUM = process.env.PHIAL_CHROMIUM || "/usr/bin/chromium";

interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function send(
  url: string,
  options: { method?: string; cookie?: string; form?: Record<string, string> } = {},
): Promise<Got> {
  const body = options.form === undefined ? undefined : new URLSearchParams(options.form).toString();
  const headers: Record<string, string> = {};
  if (options.cookie !== undefined) headers.Cookie = options.cookie;
  if (body !== undefined) headers["Content-Type"] = "application/x-www-form-urlencoded";
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? "GET", headers, agent }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        text += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** The `session=…` pair of a response's Set-Cookie, if it sets one. */
function sessionCookie(r: Got): string | undefined {
  const all = (r.headers["set-cookie"] as string[] | undefined) ?? [];
  const c = all.find((s) => s.startsWith("session="));
  return c?.slice(0, c.indexOf(";"));
}

function csrfOf(r: Got): string {
  const m = /name="csrf_token" value="([^"]+)"/.exec(r.text);
  assert.ok(m, `no CSRF token on the page (status ${r.status}):\n${r.text.slice(0, 300)}`);
  return m[1]!;
}

/** One `phial run demo/main.ts --workers 2` in its own process group (so it can be killed whole). */
class Instance {
  readonly child: ChildProcess;
  out = "";
  port = 0;
  readonly exited: Promise<unknown>;

  constructor(env: NodeJS.ProcessEnv) {
    this.child = spawn(
      process.execPath,
      [
        join(root, "bin", "phial.js"),
        "run",
        "demo/main.ts",
        "--port",
        "0",
        "--workers",
        "2",
        "--trust-proxy",
        "loopback",
      ],
      { cwd: root, env, stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    for (const s of [this.child.stdout!, this.child.stderr!]) {
      s.setEncoding("utf8").on("data", (c: string) => {
        this.out += c;
      });
    }
    this.exited = once(this.child, "exit");
  }

  async ready(ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = /Running on http:\/\/127\.0\.0\.1:(\d+)\//.exec(this.out);
      // Both workers report ready before the primary prints its line.
      if (m !== null) {
        this.port = Number(m[1]);
        return;
      }
      if (this.child.exitCode !== null)
        throw new Error(`phial exited (${this.child.exitCode}):\n${this.out}`);
      if (Date.now() > deadline) throw new Error(`phial did not start in ${ms} ms:\n${this.out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** SIGKILL to the whole process group: the launcher, the primary and both workers, as a machine dies. */
  kill(): void {
    try {
      process.kill(-this.child.pid!, "SIGKILL");
    } catch {}
  }
}

function nginxConf(dir: string, ports: readonly number[], listen: number): string {
  return nginxConfig(
    dir,
    `  # WebSockets: the Upgrade goes through; every other request keeps the upstream connection alive.
  map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      '';
  }

  upstream phial_app {
${ports.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=10s;`).join("\n")}
    keepalive 32;
  }

  server {
    listen 127.0.0.1:${listen};
    location / {
      proxy_pass http://phial_app;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      # An instance that refuses or drops the connection: the request goes to the next one (nginx does
      # this only for requests it may repeat: not a POST, unless non_idempotent is added).
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 3;
      proxy_connect_timeout 2s;
    }
  }`,
    1024,
  );
}

describe("many machines: three instances (--workers 2 each) behind nginx, sharing Redis", {
  skip,
  timeout: 180_000,
}, () => {
  let redis: RedisServer;
  let dir: string;
  let nginx: ChildProcess | undefined;
  const instances: Instance[] = [];
  let front: string;

  before(async () => {
    redis = await RedisServer.start();
    dir = mkdtempSync(join(tmpdir(), "phial-many-"));
    chmodSync(dir, 0o755);
    const data = join(dir, "data");
    const users = new UserStore(data);
    await users.create("alice", "alice's password");
    await users.create("bob", "bob's password");
    const env = {
      ...process.env,
      NO_COLOR: "1",
      REDIS_URL: redis.url,
      PHIAL_DEMO_DATA: data,
      PHIAL_SECRET_KEY: "one-secret-for-every-instance-of-this-test",
    };
    for (let i = 0; i < INSTANCES; i++) instances.push(new Instance(env));
    await Promise.all(instances.map((i) => i.ready()));
    const listen = await freePort();
    front = `http://127.0.0.1:${listen}`;
    const conf = nginxConf(
      dir,
      instances.map((i) => i.port),
      listen,
    );
    nginx = await startNginx(dir, conf, [listen]);
  });

  after(async () => {
    agent.destroy();
    await stopNginx(nginx);
    for (const i of instances) {
      if (i.child.exitCode === null && i.child.signalCode === null) {
        i.kill();
        await i.exited;
      }
    }
    await redis?.close();
    if (dir !== undefined && process.env.KEEP === undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** Signs `user` in on instance `on` (the form's GET and POST there); the session cookie. */
  async function signIn(user: string, on: Instance): Promise<string> {
    const form = await send(`${on.url}/signin`);
    const first = sessionCookie(form)!;
    const r = await send(`${on.url}/signin`, {
      method: "POST",
      cookie: first,
      form: { csrf_token: csrfOf(form), username: user, password: `${user}'s password` },
    });
    assert.equal(r.status, 302, r.text.slice(0, 300));
    const signedIn = sessionCookie(r)!;
    assert.notEqual(signedIn, first, "a new session id at sign-in");
    return signedIn;
  }

  async function whoAmI(url: string, cookie: string): Promise<Got> {
    return send(`${url}/api/files`, { cookie });
  }

  test("signed in on one instance, the session works on every other (and through nginx)", async () => {
    const cookie = await signIn("alice", instances[0]!);
    for (const i of instances) {
      const r = await whoAmI(i.url, cookie);
      assert.equal(r.status, 200, `instance on ${i.port}: ${r.text}`);
      assert.equal((JSON.parse(r.text) as { user: string }).user, "alice");
    }
    const viaNginx = await whoAmI(front, cookie);
    assert.equal(viaNginx.status, 200);
    // The cookie is an opaque signed id: no user name in it.
    assert.doesNotMatch(Buffer.from(cookie.slice(8).split(".")[0]!, "base64url").toString("latin1"), /alice/);
  });

  test("signing out on one instance ends the session on all of them (a copied cookie is dead)", async () => {
    const cookie = await signIn("bob", instances[1]!);
    const page = await send(`${instances[1]!.url}/profile`, { cookie });
    assert.equal(page.status, 200);
    const out = await send(`${instances[2]!.url}/signout`, {
      method: "POST",
      cookie,
      form: { csrf_token: csrfOf(page) },
    });
    assert.equal(out.status, 302);
    for (const i of instances)
      assert.equal((await whoAmI(i.url, cookie)).status, 401, `instance on ${i.port}`);
  });

  test("the sign-in limit holds across instances: 5 tries per account, wherever they land", async () => {
    const form = await send(`${instances[0]!.url}/signin`);
    const cookie = sessionCookie(form)!;
    const token = csrfOf(form); // kept in the Redis session: valid on every instance
    const codes: number[] = [];
    for (let n = 0; n < 6; n++) {
      const r = await send(`${instances[n % INSTANCES]!.url}/signin`, {
        method: "POST",
        cookie,
        form: { csrf_token: token, username: "carol", password: `guess ${n}` },
      });
      codes.push(r.status);
      if (r.status === 429) {
        assert.equal(r.headers["ratelimit-limit"], "5");
        assert.ok(Number(r.headers["retry-after"]) >= 1);
      }
    }
    assert.deepEqual(codes, [401, 401, 401, 401, 401, 429]);
  });

  test("chat: a message typed in chromium on one instance reaches browsers on the others", {
    skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`,
  }, async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking"],
    });
    try {
      // Three people, each with a browser of their own: on instance 1, on instance 2 and through nginx.
      // Each comes from an address of its own (a forwarded one: the instances trust loopback proxies),
      // so the sign-in limit per address stays with the test that checks it.
      const where = [
        { user: "alice", url: instances[0]!.url, from: "198.51.100.1" },
        { user: "bob", url: instances[1]!.url, from: "198.51.100.2" },
        { user: "bob", url: front, from: "198.51.100.3" },
      ];
      const pages = [];
      for (const w of where) {
        const context = await browser.newContext({ extraHTTPHeaders: { "X-Forwarded-For": w.from } });
        context.setDefaultTimeout(20_000);
        const page = await context.newPage();
        await page.goto(`${w.url}/chat/`); // signed out: the sign-in form, then back to the chat
        await page.fill("input[name=username]", w.user);
        await page.fill("input[name=password]", `${w.user}'s password`);
        await Promise.all([page.waitForURL(`${w.url}/chat/`), page.click("form.card button[type=submit]")]);
        await page.waitForSelector("#chat[data-state=open]");
        pages.push(page);
      }
      const [alice, bob, viaNginx] = pages as [(typeof pages)[0], (typeof pages)[0], (typeof pages)[0]];
      await alice.fill("#chat-text", "hello from instance 1 <b>not bold</b>");
      await alice.press("#chat-text", "Enter");
      for (const p of [alice, bob, viaNginx]) {
        const line = p.locator("#chat-log li", { hasText: "hello from instance 1" });
        await line.waitFor();
        assert.equal(await line.locator("strong").textContent(), "alice");
        assert.equal(await p.locator("#chat-log b").count(), 0, "the text is shown as text, not HTML");
      }
      await viaNginx.fill("#chat-text", "and back through nginx");
      await viaNginx.press("#chat-text", "Enter");
      for (const p of [alice, bob, viaNginx])
        await p.locator("#chat-log li", { hasText: "and back through nginx" }).waitFor();
      // Each message once per page: Redis carried it to the other instances and workers, not twice.
      for (const p of [alice, bob, viaNginx]) {
        assert.equal(await p.locator("#chat-log li", { hasText: "hello from instance 1" }).count(), 1);
        assert.equal(await p.locator("#chat-log li", { hasText: "and back through nginx" }).count(), 1);
      }
    } finally {
      await browser.close();
    }
  });

  test(`one instance killed in the middle of ${LOAD} requests through nginx: no session lost, none failed`, async () => {
    const cookie = await signIn("alice", instances[1]!);
    const statuses = new Map<number, number>();
    const errors: string[] = [];
    let wrongUser = 0;
    let sent = 0;
    let done = 0;
    let killedAt = -1;
    const victim = instances[2]!;
    const worker = async () => {
      while (sent < LOAD) {
        sent++;
        try {
          const r = await whoAmI(front, cookie);
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          if (r.status === 200 && !r.text.includes('"user":"alice"')) wrongUser++;
        } catch (err) {
          errors.push((err as Error).message);
        }
        done++;
        if (killedAt < 0 && done >= LOAD / 4) {
          killedAt = done;
          victim.kill();
        }
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (Date.now() - started) / 1000;
    await victim.exited;
    console.log(
      `${LOAD} requests in ${seconds.toFixed(1)} s (${Math.round(LOAD / seconds)} req/s on a shared machine); ` +
        `instance killed after ${killedAt}; statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(Object.fromEntries(statuses), { 200: LOAD }, "every request answered 200 for alice");
    assert.equal(wrongUser, 0);
    assert.ok(killedAt > 0 && killedAt < LOAD, "the kill happened mid-load");
    // The two survivors still know the session; nginx's log shows it noticed the dead one.
    for (const i of instances.slice(0, 2)) assert.equal((await whoAmI(i.url, cookie)).status, 200);
    const log = readFileSync(join(dir, "error.log"), "utf8");
    assert.match(log, /Connection refused|prematurely closed|reset by peer/, "nginx saw the instance go");
  });
});
