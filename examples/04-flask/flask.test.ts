// Runs each port of the seed's Flask snippets as a user would (a process through tsx) and talks to it
// with curl.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { inflateSync } from "node:zlib";
import { curl, type Running, startExample } from "../_support.ts";

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));

/** Starts `file` before the suite's tests and stops it after. */
function running(file: string): () => Running {
  let app: Running | undefined;
  before(async () => {
    app = await startExample(here(file));
  });
  after(() => app?.stop());
  return () => app!;
}

describe("app.ts: home, the sign-in form and its POST", () => {
  const app = running("app.ts");

  test("GET / and POST / both answer Home", async () => {
    for (const args of [[], ["-X", "POST"]]) {
      const r = await curl([...args, `${app().url}/`]);
      assert.equal(r.status, 200);
      assert.equal(r.headers["content-type"], "text/html; charset=utf-8");
      assert.equal(r.body, "<h1>Home</h1>");
    }
  });

  test("GET /signin shows the form, POST /signin checks it", async () => {
    assert.match((await curl([`${app().url}/signin`])).body, /<form action="\/signin" method="post">/);
    const ok = await curl(["-d", "username=admin&password=password", `${app().url}/signin`]);
    assert.equal(ok.status, 200);
    assert.equal(ok.body, "<h3>Hello, admin!</h3>");
    for (const form of ["username=admin&password=passwore", "username=nobody&password=password"]) {
      const bad = await curl(["-d", form, `${app().url}/signin`]);
      assert.equal(bad.status, 401);
      assert.equal(bad.body, "<h3>Bad username or password.</h3>");
    }
  });

  test("a missing field is a 400, other methods a 405 with Allow, unknown URLs a 404", async () => {
    const r = await curl(["-d", "username=admin", `${app().url}/signin`]);
    assert.equal(r.status, 400);
    assert.match(r.body, /password/);
    const put = await curl(["-X", "PUT", `${app().url}/signin`]);
    assert.equal(put.status, 405);
    assert.equal(put.headers.allow, "GET, HEAD, OPTIONS, POST");
    assert.equal((await curl([`${app().url}/nowhere`])).status, 404);
  });
});

describe("responses.ts: body, status and headers", () => {
  const app = running("responses.ts");

  for (const path of ["/login", "/login2", "/login3"]) {
    test(`${path} sends 成功 with token and an encoded City`, async () => {
      for (const args of [[], ["-X", "POST"]]) {
        const r = await curl([...args, `${app().url}${path}`]);
        assert.equal(r.status, 200);
        assert.equal(r.body, "成功");
        assert.equal(r.headers.token, "123456");
        assert.equal(r.headers.city, "%E6%B7%B1%E5%9C%B3");
        assert.equal(decodeURIComponent(r.headers.city!), "深圳");
      }
    });
  }

  test("the seed's raw City: 深圳 is a 500, and the log names the header and the fix", async () => {
    const r = await curl([`${app().url}/login-as-in-the-seed`]);
    assert.equal(r.status, 500);
    assert.equal(r.headers.city, undefined);
    assert.doesNotMatch(r.body, /深圳|City/);
    const log = app().output();
    assert.match(log, /TypeError/);
    assert.match(log, /"City"/);
    assert.match(log, /Latin-1/);
  });
});

describe("redirect.ts: redirect(urlFor('login'))", () => {
  const app = running("redirect.ts");

  test("/ is a 302 to /login, which curl -L follows", async () => {
    const r = await curl([`${app().url}/`]);
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, "/login");
    const followed = await curl(["-L", `${app().url}/`]);
    assert.equal(followed.status, 200);
    assert.equal(followed.body, "这是登录页面");
  });

  test("debug mode logs each request", async () => {
    await curl([`${app().url}/login`]);
    assert.match(app().output(), /GET \/login/);
  });
});

describe("templates.ts: renderTemplate with {{ user.nickname }}", () => {
  const app = running("templates.ts");

  test("/index says hello to Miguel", async () => {
    const r = await curl([`${app().url}/index`]);
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "text/html; charset=utf-8");
    assert.match(r.body, /<h1>Hello, Miguel!<\/h1>/);
  });

  test("a name from the URL is escaped, never markup", async () => {
    const r = await curl([`${app().url}/hello/%3Cimg%20src=x%20onerror=alert(1)%3E`]);
    assert.equal(r.status, 200);
    assert.match(r.body, /<h1>Hello, &lt;img src=x onerror=alert\(1\)&gt;!<\/h1>/);
    assert.doesNotMatch(r.body, /<img/);
  });
});

describe("files.ts: sendFromDirectory downloads and sendStaticFile", () => {
  const app = running("files.ts");
  const report = readFileSync(here("upload/report.txt"));

  test("/download/report.txt is an attachment with the file's bytes", async () => {
    const r = await curl([`${app().url}/download/report.txt`]);
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-disposition"], "attachment; filename=report.txt");
    assert.equal(r.headers["content-type"], "text/plain; charset=utf-8");
    assert.equal(Number(r.headers["content-length"]), report.length);
    assert.ok(r.headers.etag);
    assert.equal(r.body, report.toString("utf8"));
  });

  test("a conditional GET is a 304, a range a 206", async () => {
    const first = await curl([`${app().url}/download/report.txt`]);
    const again = await curl([
      "-H",
      `If-None-Match: ${first.headers.etag}`,
      `${app().url}/download/report.txt`,
    ]);
    assert.equal(again.status, 304);
    const part = await curl(["-r", "0-9", `${app().url}/download/report.txt`]);
    assert.equal(part.status, 206);
    assert.equal(part.body, report.subarray(0, 10).toString());
  });

  test("names leaving the folder are a 404, never the app's source", async () => {
    for (const name of ["../files.ts", "..%2Ffiles.ts", "%2e%2e/files.ts", "missing.txt"]) {
      const r = await curl(["--path-as-is", `${app().url}/download/${name}`]);
      assert.equal(r.status, 404, name);
      assert.doesNotMatch(r.body, /sendFromDirectory/, name);
    }
  });

  test("/ is static/homepage.html, the same file as /static/homepage.html", async () => {
    const home = await curl([`${app().url}/`]);
    assert.equal(home.status, 200);
    assert.equal(home.headers["content-type"], "text/html; charset=utf-8");
    assert.equal(home.body, readFileSync(here("static/homepage.html"), "utf8"));
    assert.equal((await curl([`${app().url}/static/homepage.html`])).body, home.body);
  });
});

describe("cookies.ts: sign in, a signed session, the /user redirect", () => {
  const app = running("cookies.ts");
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "phial-04-jar-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("/ and /signin both show the form posting to /login", async () => {
    for (const path of ["/", "/signin"]) {
      assert.match((await curl([`${app().url}${path}`])).body, /<form action="\/login" method="post">/);
    }
  });

  test("without a session /user redirects to the sign-in form by its endpoint", async () => {
    const r = await curl([`${app().url}/user`]);
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, "/signin");
  });

  test("signing in keeps the user in a signed session, never the password", async () => {
    const jar = join(dir, "jar.txt");
    const r = await curl(["-c", jar, "-d", "username=123&password=456", `${app().url}/login`]);
    assert.equal(r.status, 200);
    assert.equal(r.body, "<h3>Hello, admin!</h3>");
    const cookies = readFileSync(jar, "utf8");
    // Netscape jar lines: domain, flag, path, secure, expiry (epoch seconds), name, value. Only what a
    // cookie carries is checked (an expiry's digits, or a signature's characters, may hold "456" by
    // chance): names, plain values, and the session's payload decoded (itsdangerous' format: base64url
    // JSON, or "." and zlib-deflated JSON, then ".timestamp.signature").
    const pairs = cookies
      .split("\n")
      .filter((l) => l.includes("\t"))
      .map((l) => {
        const [name = "", value = ""] = l.split("\t").slice(5);
        if (name !== "session") return `${name}=${value}`;
        const zipped = value.startsWith(".");
        const raw = Buffer.from((zipped ? value.slice(1) : value).split(".")[0]!, "base64url");
        return `${name}=${(zipped ? inflateSync(raw) : raw).toString("utf8")}`;
      });
    assert.ok(pairs.length > 1, "the jar has the session and the username");
    for (const p of pairs) {
      assert.doesNotMatch(p, /456/, "the password is in no cookie");
      assert.doesNotMatch(p, /\bpassword\b/);
    }
    assert.match(cookies, /\tsession\t/);
    const u = await curl(["-b", jar, `${app().url}/user`]);
    assert.equal(u.status, 200);
    assert.equal(u.body, "<h3>用户已经登录成功，并且有cookie</h3>");
    // The plain username cookie fills in the form next time.
    assert.match((await curl(["-b", jar, `${app().url}/signin`])).body, /name="username" value="123"/);
  });

  test("the seed's cookies, forged by hand, sign nobody in", async () => {
    const r = await curl(["-b", "username=123; password=456", `${app().url}/user`]);
    assert.equal(r.status, 302);
    const forged = await curl(["-b", "session=eyJ1c2VyIjoiMTIzIn0.AAAA.AAAA", `${app().url}/user`]);
    assert.equal(forged.status, 302);
  });

  test("a wrong password sets no cookie", async () => {
    const r = await curl(["-d", "username=123&password=654", `${app().url}/login`]);
    assert.equal(r.status, 401);
    assert.equal(r.headers["set-cookie"], undefined);
  });
});
