// The demo site (demo/main.ts) through the in-process test client: every page, form and API answer,
// with a fresh data folder per test file.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { TestClient, TestResponse } from "phial/testing";
import { createDemo, type Demo, formatSize, loadSecretKey } from "../../demo/main.ts";

const quiet = { info() {}, warn() {}, error() {} };
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "phial-demo-"));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

let demo: Demo;
before(() => {
  demo = createDemo({
    dataDir: tempDir(),
    logger: quiet,
    maxUploadBytes: 64 * 1024,
    maxFilesPerUser: 3,
    signupLimitPerAddress: "1000 per hour", // the tests sign up many users from one address
  });
});

/** The CSRF token of the form on `page`. */
function tokenOf(page: TestResponse): string {
  const m = /name="csrf_token" value="([^"]+)"/.exec(page.text);
  assert.ok(m, `no CSRF token on the page:\n${page.text.slice(0, 400)}`);
  return m[1]!;
}

/** A client with an account `name` (signed up through the form), signed in. */
async function signedUp(name: string, password = "correct horse"): Promise<TestClient> {
  const c = demo.app.testClient();
  const form = await c.get("/signup");
  const r = await c.post("/signup", {
    form: { csrf_token: tokenOf(form), username: name, password, confirm: password },
  });
  assert.equal(r.status, 302, r.text);
  return c;
}

function flashes(page: TestResponse): string[] {
  return [...page.text.matchAll(/<li class="(\w+)" role="status">([^<]*)<\/li>/g)].map(
    (m) => `${m[1]}: ${m[2]}`,
  );
}

describe("pages and layout", () => {
  test("home: the layout (title, stylesheet, nav), security headers", async () => {
    const r = await demo.app.testClient().get("/");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(r.text, /<title>Home · Phial demo<\/title>/);
    assert.match(r.text, /<link rel="stylesheet" href="\/static\/style.css">/);
    assert.match(r.text, /href="\/signin">Sign in</);
    assert.doesNotMatch(r.text, /class="flashes"/, "no empty flash list");
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    assert.match(r.headers.get("content-security-policy")!, /frame-ancestors 'none'/);
  });

  test("static assets: style.css and logo.svg with validators", async () => {
    const c = demo.app.testClient();
    const css = await c.get("/static/style.css");
    assert.equal(css.status, 200);
    assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
    assert.deepEqual(css.data, readFileSync(new URL("../../demo/static/style.css", import.meta.url)));
    const again = await c.get("/static/style.css", {
      headers: { "If-None-Match": css.headers.get("etag")! },
    });
    assert.equal(again.status, 304);
    assert.match((await c.get("/static/logo.svg")).headers.get("content-type")!, /^image\/svg\+xml/);
  });

  test("the seed's pages: template, tuple with headers, redirect(urlFor)", async () => {
    const c = demo.app.testClient();
    assert.match((await c.get("/seed/")).text, /The tutorial's pages/);
    assert.match((await c.get("/seed/hello")).text, /<h1>Hello, Miguel!<\/h1>/);
    for (const m of ["GET", "POST"] as const) {
      const r = await c.open(m, "/seed/login");
      assert.equal(r.status, 200);
      assert.equal(r.text, "成功");
      assert.equal(r.headers.get("token"), "123456");
      assert.equal(decodeURIComponent(r.headers.get("city")!), "深圳");
    }
    const go = await c.get("/seed/redirect");
    assert.equal(go.status, 302);
    assert.equal(go.headers.get("location"), "/seed/");
  });

  test("friendly error pages: 404 and 405 (Allow kept) in the layout", async () => {
    const c = demo.app.testClient();
    const nf = await c.get("/no/such/page");
    assert.equal(nf.status, 404);
    assert.match(nf.text, /<p class="code">404<\/p>/);
    assert.match(nf.text, /There is nothing at this address/);
    assert.match(nf.text, /<link rel="stylesheet"/);
    const na = await c.put("/signin");
    assert.equal(na.status, 405);
    assert.equal(na.headers.get("allow"), "GET, HEAD, OPTIONS, POST");
    assert.match(na.text, /not for that kind of request/);
  });

  test("a 500 page says sorry without the error's details", async () => {
    const d = createDemo({ dataDir: tempDir(), logger: quiet });
    d.app.get("/boom", () => {
      throw new Error("secret internals");
    });
    const r = await d.app.testClient().get("/boom");
    assert.equal(r.status, 500);
    assert.match(r.text, /Something went wrong on our side/);
    assert.doesNotMatch(r.text, /secret internals/);
  });
});

describe("accounts: sign up, sign in, sign out", () => {
  test("sign-up refuses bad input with the form again, then makes the account", async () => {
    const c = demo.app.testClient();
    const token = tokenOf(await c.get("/signup"));
    const cases: [Record<string, string>, RegExp][] = [
      [{ username: "ab", password: "long enough", confirm: "long enough" }, /3 to 32 letters/],
      [{ username: "../x", password: "long enough", confirm: "long enough" }, /3 to 32 letters/],
      [{ username: "bob", password: "short", confirm: "short" }, /at least 8/],
      [{ username: "bob", password: "long enough", confirm: "different" }, /passwords differ/],
    ];
    for (const [form, message] of cases) {
      const r = await c.post("/signup", { form: { csrf_token: token, ...form } });
      assert.equal(r.status, 400, JSON.stringify(form));
      assert.match(r.text, message);
      assert.match(r.text, new RegExp(`value="${form.username!.replace(".", "\\.")}"`), "the name is kept");
    }
    const ok = await c.post("/signup", {
      form: { csrf_token: token, username: "bob", password: "long enough", confirm: "long enough" },
    });
    assert.equal(ok.status, 302);
    assert.equal(ok.headers.get("location"), "/profile");
    const profile = await c.get("/profile");
    assert.deepEqual(flashes(profile), ["success: Welcome, bob! Your account is ready."]);
    assert.match(profile.text, /<h1>bob<\/h1>/);
    const taken = await demo.app.testClient().get("/signup");
    const again = await demo.app.testClient().post("/signup", {
      form: { csrf_token: tokenOf(taken), username: "BOB", password: "long enough", confirm: "long enough" },
    });
    assert.equal(again.status, 400, "the CSRF token of another session is refused");
  });

  test("the store keeps a salted hash, never the password; the session key file is 0600", async () => {
    await signedUp("carol", "carol's secret");
    const stored = readFileSync(join(demo.dataDir, "users.json"), "utf8");
    assert.doesNotMatch(stored, /carol's secret/);
    const carol = (JSON.parse(stored) as { username: string; salt: string; hash: string }[]).find(
      (u) => u.username === "carol",
    )!;
    assert.equal(Buffer.from(carol.hash, "base64").length, 32);
    assert.equal(statSync(join(demo.dataDir, "secret_key")).mode & 0o777, 0o600);
    assert.equal(statSync(join(demo.dataDir, "users.json")).mode & 0o777, 0o600);
  });

  test("sign-in: wrong password and unknown user get the same 401; the right one signs in with a flash", async () => {
    await signedUp("dave", "dave's password");
    const c = demo.app.testClient();
    const token = tokenOf(await c.get("/signin"));
    for (const [username, password] of [
      ["dave", "not it"],
      ["nobody", "dave's password"],
    ]) {
      const r = await c.post("/signin", {
        form: { csrf_token: token, username: username!, password: password! },
      });
      assert.equal(r.status, 401);
      assert.match(r.text, /Wrong username or password\./);
      assert.match(r.text, new RegExp(`value="${username}"`));
    }
    const ok = await c.post("/signin", {
      form: { csrf_token: token, username: "DAVE", password: "dave's password" },
    });
    assert.equal(ok.status, 302);
    assert.equal(ok.headers.get("location"), "/profile");
    const cookie = ok.headers.getSetCookie().find((s) => s.startsWith("session="))!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
    assert.doesNotMatch(cookie, /password/);
    const profile = await c.get("/profile");
    assert.deepEqual(flashes(profile), ["success: Welcome back, dave!"], "the name as registered");
    assert.deepEqual(flashes(await c.get("/profile")), [], "a flash shows once");
  });

  test("pages that need a user send to the sign-in form and back; ?next= never leaves the site", async () => {
    await signedUp("erin", "erin's password");
    const c = demo.app.testClient();
    const r = await c.get("/files", { query: { sort: "name" } });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get("location"), "/signin?next=/files?sort%3Dname");
    const form = await c.get(r.headers.get("location")!);
    assert.deepEqual(flashes(form), ["warning: Please sign in to see that page."]);
    assert.match(form.text, /name="next" value="\/files\?sort=name"/);
    const token = tokenOf(form);
    const ok = await c.post("/signin", {
      form: { csrf_token: token, username: "erin", password: "erin's password", next: "/files?sort=name" },
    });
    assert.equal(ok.headers.get("location"), "/files?sort=name");
    for (const next of ["//evil.example/", "https://evil.example/", "/\\evil.example"]) {
      const c2 = demo.app.testClient();
      const t2 = tokenOf(await c2.get("/signin"));
      const r2 = await c2.post("/signin", {
        form: { csrf_token: t2, username: "erin", password: "erin's password", next },
      });
      assert.equal(r2.headers.get("location"), "/profile", next);
    }
  });

  test("sign out clears the session (CSRF-checked POST)", async () => {
    const c = await signedUp("frank");
    const page = await c.get("/profile");
    assert.equal((await c.post("/signout")).status, 400, "no token, no sign-out");
    const r = await c.post("/signout", { form: { csrf_token: tokenOf(page) } });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get("location"), "/");
    const home = await c.get("/");
    assert.deepEqual(flashes(home), ["info: You are signed out."]);
    assert.match(home.text, /Sign in</);
    assert.equal((await c.get("/profile")).status, 302);
  });

  test("CSRF: a POST without the token, with a wrong one, or without a session is a friendly 400", async () => {
    const c = demo.app.testClient();
    const token = tokenOf(await c.get("/signin"));
    for (const form of [
      { username: "x", password: "y", csrf_token: "" },
      { username: "x", password: "y", csrf_token: `${token.slice(0, -1)}${token.endsWith("A") ? "B" : "A"}` },
    ]) {
      const r = await c.post("/signin", { form });
      assert.equal(r.status, 400);
      assert.match(r.text, /The form expired or came from another site/);
    }
    const fresh = await demo.app.testClient().post("/signin", { form: { csrf_token: token } });
    assert.equal(fresh.status, 400);
  });

  test("a forged session cookie reads as nobody", async () => {
    const c = demo.app.testClient();
    const forged = Buffer.from(JSON.stringify({ user: "bob" })).toString("base64url");
    c.setCookie("session", `${forged}.AAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`);
    assert.equal((await c.get("/profile")).status, 302);
  });

  test("a session whose account is gone is ended, not a broken page", async () => {
    const dir = tempDir();
    const d = createDemo({ dataDir: dir, logger: quiet });
    await d.users.create("olga", "olga's password");
    const c = d.app.testClient();
    const t = tokenOf(await c.get("/signin"));
    await c.post("/signin", { form: { csrf_token: t, username: "olga", password: "olga's password" } });
    assert.equal((await c.get("/profile")).status, 200);
    rmSync(join(dir, "users.json"));
    const reset = createDemo({ dataDir: dir, logger: quiet }); // same key, no users
    const c2 = reset.app.testClient();
    c2.setCookie("session", c.getCookie("session")!);
    const r = await c2.get("/profile");
    assert.equal(r.status, 302);
    assert.match(r.headers.get("location")!, /^\/signin/);
    assert.equal((await c2.get("/api/files")).status, 401);
    assert.doesNotMatch((await c2.get("/")).text, /olga/);
  });

  test("sign-in is rate limited per account and per address: a friendly 429 with Retry-After", async () => {
    const d = createDemo({ dataDir: tempDir(), logger: quiet });
    await d.users.create("mallory", "mallory's password");
    await d.users.create("trent", "trent's password");
    const c = d.app.testClient();
    const t = tokenOf(await c.get("/signin"));
    const attempt = (username: string, password: string, remoteAddr = "127.0.0.1") =>
      c.post("/signin", { form: { csrf_token: t, username, password }, remoteAddr });
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await attempt("mallory", `guess ${i}`)).status);
    assert.deepEqual(codes, [401, 401, 401, 401, 401]);
    const r = await attempt("mallory", "mallory's password");
    assert.equal(r.status, 429, "the right password too, once the account's attempts are used up");
    assert.equal(r.headers.get("RateLimit-Limit"), "5");
    assert.equal(r.headers.get("RateLimit-Remaining"), "0");
    assert.ok(Number(r.headers.get("Retry-After")) > 50);
    assert.match(r.text, /<title>Too Many Requests · Phial demo<\/title>/);
    assert.match(r.text, /5 per 1 minute exceeded; try again in \d+ seconds/);
    // Another address does not help against the account's limit…
    assert.equal((await attempt("mallory", "mallory's password", "10.9.9.9")).status, 429);
    // …and another account from this address has its own, until the address's 10 are used up.
    const more = [];
    for (let i = 0; i < 4; i++) more.push((await attempt("trent", `guess ${i}`)).status);
    assert.deepEqual(more, [401, 401, 401, 401]);
    assert.equal((await attempt("trent", "trent's password")).status, 429, "10 per minute from one address");
    assert.equal((await attempt("trent", "trent's password", "10.9.9.8")).status, 302);
  });

  test("sessions survive a restart: the key is kept in the data folder", async () => {
    const dir = tempDir();
    const first = createDemo({ dataDir: dir, logger: quiet });
    await first.users.create("gina", "gina's password");
    const c1 = first.app.testClient();
    const t = tokenOf(await c1.get("/signin"));
    await c1.post("/signin", { form: { csrf_token: t, username: "gina", password: "gina's password" } });
    const second = createDemo({ dataDir: dir, logger: quiet });
    const c2 = second.app.testClient();
    c2.setCookie("session", c1.getCookie("session")!);
    const p = await c2.get("/profile");
    assert.equal(p.status, 200);
    assert.match(p.text, /<h1>gina<\/h1>/);
    assert.equal(loadSecretKey(dir), first.app.config.secretKey);
  });
});

describe("files: upload, list, download, delete", () => {
  test("upload with a hostile name, list, download byte-identical, delete", async () => {
    const c = await signedUp("hana");
    const page = await c.get("/files");
    assert.match(page.text, /No files yet/);
    const data = Buffer.alloc(40_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) % 256;
    const up = await c.post("/files", {
      form: { csrf_token: tokenOf(page) },
      files: { file: { filename: "../../my report.bin", contentType: "application/octet-stream", data } },
    });
    assert.equal(up.status, 302, up.text);
    const list = await c.get("/files");
    assert.deepEqual(flashes(list), ["success: Uploaded my_report.bin (39 KB)."]);
    assert.match(list.text, /href="\/files\/my_report.bin" download>my_report.bin</);
    const dl = await c.get("/files/my_report.bin");
    assert.equal(dl.status, 200);
    assert.equal(dl.headers.get("content-disposition"), "attachment; filename=my_report.bin");
    assert.deepEqual(dl.data, data);
    assert.deepEqual(readFileSync(join(demo.dataDir, "uploads", "hana", "my_report.bin")), data);
    // Another user sees none of it.
    const other = await signedUp("ivan");
    assert.equal((await other.get("/files/my_report.bin")).status, 404);
    assert.doesNotMatch((await other.get("/files")).text, /my_report/);
    // Names that try to leave the folder.
    for (const p of ["/files/..%2Fusers.json", "/files/%2E%2E", "/files/..%5Cusers.json"]) {
      assert.equal((await c.get(p)).status, 404, p);
    }
    const del = await c.post("/files/my_report.bin/delete", { form: { csrf_token: tokenOf(list) } });
    assert.equal(del.status, 302);
    assert.deepEqual(flashes(await c.get("/files")), ["info: Deleted my_report.bin."]);
    assert.equal((await c.get("/files/my_report.bin")).status, 404);
  });

  test("no file chosen, too large (413 page), and too many files are refused", async () => {
    const c = await signedUp("jane");
    const token = tokenOf(await c.get("/files"));
    const none = await c.post("/files", {
      form: { csrf_token: token },
      files: { file: { filename: "", data: Buffer.alloc(0) } },
    });
    assert.equal(none.status, 302);
    assert.deepEqual(flashes(await c.get("/files")), ["error: Choose a file to upload first."]);
    const big = await c.post("/files", {
      form: { csrf_token: token },
      files: { file: { filename: "big.bin", data: Buffer.alloc(64 * 1024 + 1) } },
    });
    assert.equal(big.status, 413);
    assert.match(big.text, /Files may be up to 64 KB/);
    for (const n of [1, 2, 3, 4]) {
      await c.post("/files", {
        form: { csrf_token: token },
        files: { file: { filename: `f${n}.txt`, data: Buffer.from(`file ${n}`) } },
      });
    }
    const list = await c.get("/files");
    assert.deepEqual(flashes(list), [
      "success: Uploaded f1.txt (6 B).",
      "success: Uploaded f2.txt (6 B).",
      "success: Uploaded f3.txt (6 B).",
      "error: You already keep 3 files: delete one first.",
    ]);
    assert.doesNotMatch(list.text, /f4\.txt/);
  });
});

describe("the JSON API", () => {
  test("/api/users and /api/users/<id> need a signed-in user: a JSON 401 without one", async () => {
    await signedUp("kurt");
    const anon = demo.app.testClient();
    for (const p of ["/api/users", "/api/users/1", "/api/users?limit=5"]) {
      const r = await anon.get(p);
      assert.equal(r.status, 401, p);
      assert.equal(r.headers.get("content-type"), "application/json");
      assert.deepEqual(r.json, {
        error: "Unauthorized",
        status: 401,
        description: "Sign in first: the API's user list is for members.",
      });
      assert.doesNotMatch(r.text, /kurt/);
    }
    // A forged session cookie is nobody too.
    anon.setCookie("session", "eyJ1c2VyIjoia3VydCJ9.forged.sig");
    assert.equal((await anon.get("/api/users")).status, 401);
  });

  test("/api lists the endpoints; /api/users/<int:id> is typed; errors are JSON", async () => {
    const c = await signedUp("kim");
    const index = await c.get("/api");
    assert.equal(index.headers.get("content-type"), "application/json");
    assert.deepEqual((index.json as { endpoints: unknown }).endpoints, {
      users: "/api/users",
      user: "/api/users/1",
      files: "/api/files",
      echo: "/api/echo",
    });
    const all = (await c.get("/api/users")).json as { count: number; users: Record<string, unknown>[] };
    assert.ok(all.count >= 1);
    const kim = all.users.find((u) => u.username === "kim")!;
    assert.deepEqual(Object.keys(kim).sort(), ["created", "id", "url", "username"], "no salt, no hash");
    const one = await c.get(kim.url as string);
    assert.equal(one.status, 200);
    assert.equal((one.json as { id: unknown }).id, kim.id);
    assert.equal(typeof (one.json as { id: unknown }).id, "number");
    for (const p of ["/api/users/99999", "/api/users/abc", "/api/users/-1", "/api/nothing"]) {
      const r = await c.get(p);
      assert.equal(r.status, 404, p);
      assert.equal(r.headers.get("content-type"), "application/json", p);
      assert.equal((r.json as { status: number }).status, 404);
    }
    assert.match(((await c.get("/api/users/99999")).json as { description: string }).description, /99999/);
    const wrongMethod = await c.delete("/api/users/1");
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get("allow"), "GET, HEAD, OPTIONS");
    assert.deepEqual(wrongMethod.json, {
      error: "Method Not Allowed",
      status: 405,
      description: (wrongMethod.json as { description: string }).description,
    });
  });

  test("/api/files: 401 without a session, the user's files with one", async () => {
    const anon = await demo.app.testClient().get("/api/files");
    assert.equal(anon.status, 401);
    assert.equal((anon.json as { error: string }).error, "Unauthorized");
    const c = await signedUp("lena");
    const token = tokenOf(await c.get("/files"));
    await c.post("/files", {
      form: { csrf_token: token },
      files: { file: { filename: "notes.txt", data: Buffer.from("hello") } },
    });
    const r = await c.get("/api/files");
    assert.equal(r.status, 200);
    const body = r.json as { user: string; files: { name: string; size: number; url: string }[] };
    assert.equal(body.user, "lena");
    assert.deepEqual(
      body.files.map((f) => [f.name, f.size, f.url]),
      [["notes.txt", 5, "/files/notes.txt"]],
    );
  });

  test("/api/echo returns the JSON it got; other bodies are a 415 or a 400, as JSON", async () => {
    const c = demo.app.testClient();
    const r = await c.post("/api/echo?x=1", { json: { a: [1, 2], b: "ü" } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { method: "POST", args: { x: "1" }, json: { a: [1, 2], b: "ü" } });
    const form = await c.post("/api/echo", { form: { a: "1" } });
    assert.equal(form.status, 415);
    assert.equal((form.json as { status: number }).status, 415);
    const bad = await c.post("/api/echo", { data: "{nope", contentType: "application/json" });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get("content-type"), "application/json");
  });
});

test("formatSize", () => {
  assert.equal(formatSize(0), "0 B");
  assert.equal(formatSize(1023), "1023 B");
  assert.equal(formatSize(1536), "1.5 KB");
  assert.equal(formatSize(5 * 1024 * 1024), "5 MB");
  assert.equal(formatSize(300 * 1024 * 1024), "300 MB");
});
