import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Io, Output } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";
import { phialServer, type Running } from "../client/helpers.ts";

class Capture implements Output {
  text = "";
  bytes: Buffer[] = [];
  constructor(
    public isTTY = false,
    public columns = 80,
  ) {}
  write(chunk: string | Uint8Array): boolean {
    if (typeof chunk === "string") this.text += chunk;
    else {
      this.bytes.push(Buffer.from(chunk));
      this.text += Buffer.from(chunk).toString("latin1");
    }
    return true;
  }
}

function io(
  env: Record<string, string> = {},
  tty = false,
  cwd = process.cwd(),
): Io & { stdout: Capture; stderr: Capture } {
  return { stdout: new Capture(tty), stderr: new Capture(tty), env, cwd };
}

interface Seen {
  method: string;
  url: string;
  contentType: string | null;
  header: string | null;
  body: string;
}

let srv: Running;
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "phial-cli-"));
  srv = await phialServer(async (req, res) => {
    const body = (await req.body()).toString("latin1");
    if (req.url === "/text") {
      res.setHeader("content-type", "text/plain");
      res.end("just text");
      return;
    }
    if (req.url === "/bin") {
      res.setHeader("content-type", "application/octet-stream");
      res.end(Buffer.from([0, 1, 2, 255]));
      return;
    }
    if (req.url === "/file") {
      res.setHeader("content-type", "application/octet-stream");
      res.end(Buffer.alloc(300_000, 7));
      return;
    }
    if (req.url === "/missing") {
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"error":"nope"}');
      return;
    }
    if (req.url === "/go") {
      res.writeHead(302, { location: "/text" });
      res.end();
      return;
    }
    const seen: Seen = {
      method: req.method,
      url: req.url,
      contentType: req.header("content-type") ?? null,
      header: req.header("x-h") ?? null,
      body,
    };
    res.setHeader("content-type", "application/json; charset=utf-8");
    res.end(JSON.stringify(seen));
  });
});
after(async () => {
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
});

function lastJson(out: string): Seen {
  const at = out.indexOf("\n\n");
  return JSON.parse(at === -1 ? out : out.slice(at + 2)) as Seen;
}

describe("phial get|post|put|delete", () => {
  test("get -p hb prints the status line, headers and the body as sent, without colour off a terminal", async () => {
    const t = io();
    assert.equal(await main(["get", "-p", "hb", `${srv.url}/hello`, "a=1", "page==2"], t), 0);
    const out = t.stdout.text;
    assert.match(out, /^HTTP\/1\.1 200 OK\n/);
    assert.match(out, /\ncontent-type: application\/json; charset=utf-8\n/);
    assert.doesNotMatch(out, /\x1b\[/);
    assert.match(out, /\n\n\{"method":"GET",/);
    // For GET, = fields are query parameters.
    assert.equal(lastJson(out).url, "/hello?page=2&a=1");
  });

  test("post sends = and := fields as JSON, Header:value as a header, == as query", async () => {
    const t = io();
    assert.equal(
      await main(["post", `${srv.url}/p`, "name=Ada", "age:=36", "tags:=[1,2]", "X-H:yes", "q==1"], t),
      0,
    );
    const s = lastJson(t.stdout.text);
    assert.equal(s.method, "POST");
    assert.equal(s.url, "/p?q=1");
    assert.equal(s.header, "yes");
    assert.equal(s.contentType, "application/json");
    assert.deepEqual(JSON.parse(s.body), { name: "Ada", age: 36, tags: [1, 2] });
  });

  test("-f sends a form; a file item sends multipart", async () => {
    const t = io();
    assert.equal(await main(["put", "-f", `${srv.url}/f`, "a=1", "b=x y"], t), 0);
    const s = lastJson(t.stdout.text);
    assert.equal(s.method, "PUT");
    assert.equal(s.contentType, "application/x-www-form-urlencoded");
    assert.equal(s.body, "a=1&b=x+y");

    writeFileSync(join(dir, "up.txt"), "file body");
    const m = io({}, false, dir);
    assert.equal(await main(["post", `${srv.url}/m`, "title=hi", "doc@up.txt"], m), 0);
    const ms = lastJson(m.stdout.text);
    assert.match(ms.contentType!, /^multipart\/form-data; boundary=/);
    assert.match(
      ms.body,
      /name="doc"; filename="up.txt"\r\nContent-Type: application\/octet-stream\r\n\r\nfile body\r\n/,
    );
    assert.match(ms.body, /name="title"\r\n\r\nhi\r\n/);
  });

  test("delete works and a 404 still exits 0 with the body shown", async () => {
    const t = io();
    assert.equal(await main(["delete", `${srv.url}/thing`], t), 0);
    assert.equal(lastJson(t.stdout.text).method, "DELETE");
    const m = io();
    assert.equal(await main(["get", "-p", "hb", `${srv.url}/missing`], m), 0);
    assert.match(m.stdout.text, /^HTTP\/1\.1 404 Not Found\n/);
    assert.match(m.stdout.text, /\n\n\{"error":"nope"\}$/);
  });

  test("colours on a terminal; NO_COLOR turns them off", async () => {
    const t = io({}, true);
    await main(["get", `${srv.url}/c`], t);
    assert.match(t.stdout.text, /\x1b\[32m\x1b\[1m200 OK/);
    assert.match(t.stdout.text, /\x1b\[34m"method"\x1b\[0m: \x1b\[32m"GET"\x1b\[0m/);
    assert.match(t.stdout.text, /\x1b\[36mcontent-type\x1b\[0m: /);
    const n = io({ NO_COLOR: "1" }, true);
    await main(["get", `${srv.url}/c`], n);
    assert.doesNotMatch(n.stdout.text, /\x1b\[/);
  });

  test("-v shows the request head and body first", async () => {
    const t = io();
    await main(["post", "-v", `${srv.url}/v`, "a=1"], t);
    const out = t.stdout.text;
    assert.match(out, /^POST \/v HTTP\/1\.1\nHost: 127\.0\.0\.1:\d+\n/);
    assert.match(out, /\nContent-Type: application\/json\n/);
    assert.match(out, /\n\n\{"a": "1"\}\n\nHTTP\/1\.1 200 OK\n/);
  });

  test("text is printed as is; binary is not dumped on a terminal; redirects are followed unless --no-follow", async () => {
    const t = io();
    await main(["get", "-b", `${srv.url}/text`], t);
    assert.equal(t.stdout.text, "just text");
    const b = io({}, true);
    await main(["get", `${srv.url}/bin`], b);
    assert.match(b.stdout.text, /binary data \(4 B\) not shown/);
    const r = io();
    await main(["get", "-b", `${srv.url}/go`], r);
    assert.equal(r.stdout.text, "just text");
    const nf = io();
    await main(["get", "-h", "--no-follow", `${srv.url}/go`], nf);
    assert.match(nf.stdout.text, /^HTTP\/1\.1 302 Found\n/);
    assert.match(nf.stdout.text, /\nlocation: \/text\n/);
  });

  test("-o downloads to a file with a progress bar on a terminal", async () => {
    const t = io({}, true, dir);
    assert.equal(await main(["get", "-o", "out.bin", `${srv.url}/file`], t), 0);
    assert.deepEqual(readFileSync(join(dir, "out.bin")), Buffer.alloc(300_000, 7));
    assert.match(t.stderr.text, /\[#+\] 100% {2}293\.0 KiB \/ 293\.0 KiB/);
    assert.match(t.stderr.text, /Saved 293\.0 KiB to .*out\.bin\n$/);
  });

  test("usage errors exit 2, request errors exit 1 with a clear message", async () => {
    const u = io();
    assert.equal(await main(["get"], u), 2);
    assert.match(u.stderr.text, /a URL is needed: phial get URL/);
    const bad = io();
    assert.equal(await main(["post", `${srv.url}/`, "x:=not-json"], bad), 2);
    assert.match(bad.stderr.text, /not valid JSON/);
    const opt = io();
    assert.equal(await main(["get", "--bogus", `${srv.url}/`], opt), 2);
    assert.match(opt.stderr.text, /unknown option --bogus; see --help/);
    assert.match(bad.stderr.text, /not valid JSON/);
    const unk = io();
    assert.equal(await main(["fly"], unk), 2);
    assert.match(unk.stderr.text, /unknown command "fly"/);
    const down = io();
    assert.equal(await main(["get", "http://127.0.0.1:1/"], down), 1);
    assert.match(down.stderr.text, /phial: error: Could not connect to http:\/\/127\.0\.0\.1:1/);
    const h = io();
    assert.equal(await main(["--help"], h), 0);
    assert.match(h.stdout.text, /Commands:\n(?: {2}\S+ .*\n)* {2}get /);
    const vh = io();
    assert.equal(await main(["post", "--help"], vh), 0);
    assert.match(vh.stdout.text, /name:=json/);
  });

  test("bin/phial.js runs the command line end to end", async () => {
    // Asynchronous spawn: the server answering it runs in this process.
    const child = spawn(process.execPath, ["bin/phial.js", "get", "-b", `${srv.url}/text`], {
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise<number | null>((r) => child.on("close", r));
    assert.equal(code, 0, err);
    assert.equal(out, "just text");
  });
});
