// `phial get` as a user runs it: through pipes (`| head -1`, `| jq`, `> file`), through a
// pseudo-terminal (`script`), with Ctrl-C, and each case issue 16 listed as broken.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import type http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { progressLine } from "../../src/cli/http.ts";
import type { Io, Output } from "../../src/cli/io.ts";
import { formatJson } from "../../src/cli/json.ts";
import { main } from "../../src/cli/main.ts";
import { nodeServer, type Running } from "../client/helpers.ts";

class Capture implements Output {
  text = "";
  bytes: Buffer[] = [];
  constructor(
    public isTTY = false,
    public columns = 80,
  ) {}
  write(chunk: string | Uint8Array): boolean {
    const b = typeof chunk === "string" ? Buffer.from(chunk) : Buffer.from(chunk);
    this.bytes.push(b);
    this.text += b.toString("utf8");
    return true;
  }
}

function io(
  opts: {
    tty?: boolean;
    errTty?: boolean;
    columns?: number;
    stdin?: Buffer;
    cwd?: string;
    env?: Record<string, string>;
  } = {},
): Io & { stdout: Capture; stderr: Capture } {
  const t: Io & { stdout: Capture; stderr: Capture } = {
    stdout: new Capture(opts.tty ?? false, opts.columns ?? 80),
    stderr: new Capture(opts.errTty ?? opts.tty ?? false, opts.columns ?? 80),
    env: opts.env ?? {},
    cwd: opts.cwd ?? process.cwd(),
  };
  if (opts.stdin !== undefined) t.stdin = Object.assign(Readable.from([opts.stdin]), { isTTY: false });
  return t;
}

const DATA = Buffer.alloc(300_000);
for (let i = 0; i < DATA.length; i++) DATA[i] = i % 251;
const BIG_JSON = '{"id": 12345678901234567890, "a": 1, "a": 2, "s": "\\u00e9\\n", "f": 1.50e+3}';

let srv: Running;
let dir: string;
const hanging = new Set<http.ServerResponse>();

function echo(req: http.IncomingMessage, res: http.ServerResponse): void {
  const parts: Buffer[] = [];
  req.on("data", (c: Buffer) => parts.push(c));
  req.on("end", () => {
    res.setHeader("content-type", "application/json");
    res.end(
      JSON.stringify({
        method: req.method,
        url: req.url,
        contentType: req.headers["content-type"] ?? null,
        auth: req.headers.authorization ?? null,
        body: Buffer.concat(parts).toString("latin1"),
      }),
    );
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "phial-term-"));
  srv = await nodeServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    switch (path) {
      case "/json":
        res.setHeader("content-type", "application/json");
        res.end(BIG_JSON);
        return;
      case "/small":
        res.setHeader("content-type", "application/octet-stream");
        res.end(Buffer.alloc(145, 1));
        return;
      case "/lines": {
        res.setHeader("content-type", "text/plain");
        const line = `${"x".repeat(99)}\n`;
        res.end(`first line\n${line.repeat(50_000)}`);
        return;
      }
      case "/data":
        res.setHeader("content-type", "application/octet-stream");
        res.end(DATA);
        return;
      case "/trickle": {
        // Six bytes, 200 ms apart: 1.2 s in all, never silent for long.
        res.writeHead(200, { "content-type": "text/plain", "content-length": "6" });
        let n = 0;
        const t = setInterval(() => {
          res.write("x");
          if (++n === 6) {
            clearInterval(t);
            res.end();
          }
        }, 200);
        return;
      }
      case "/silent":
        setTimeout(() => {
          if (!res.destroyed) res.end("late");
        }, 1500);
        return;
      case "/cut":
        // Promises 200 000 bytes, sends half, then drops the connection.
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": "200000" });
        res.write(DATA.subarray(0, 100_000), () => setTimeout(() => res.destroy(), 50));
        return;
      case "/stream-bin":
        // Binary that never ends: a terminal must get the notice at once, not after the whole body.
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.write(DATA.subarray(0, 1000));
        hanging.add(res);
        return;
      case "/nul-text":
        res.writeHead(200, { "content-type": "text/plain" });
        res.write(Buffer.from("abc\0def"));
        hanging.add(res);
        return;
      case "/resumable": {
        const range = req.headers.range;
        const m = range === undefined ? null : /^bytes=(\d+)-$/.exec(range);
        if (m !== null) {
          const start = Number(m[1]);
          if (start >= DATA.length) {
            res.writeHead(416, { "content-range": `bytes */${DATA.length}` });
            res.end();
            return;
          }
          res.writeHead(206, {
            "content-type": "application/octet-stream",
            "content-range": `bytes ${start}-${DATA.length - 1}/${DATA.length}`,
            "content-length": String(DATA.length - start),
          });
          res.end(DATA.subarray(start));
          return;
        }
        // Without a Range: half the file, then nothing (until the client gives up or is stopped).
        res.writeHead(200, {
          "content-type": "application/octet-stream",
          "content-length": String(DATA.length),
        });
        res.write(DATA.subarray(0, 100_000));
        hanging.add(res);
        return;
      }
      case "/dl/report.pdf":
      case "/dl/":
      case "/dl/named": {
        const cd = new URL(req.url!, "http://x").searchParams.get("cd");
        res.writeHead(200, {
          "content-type": path === "/dl/" ? "text/html" : "application/pdf",
          ...(cd === null ? {} : { "content-disposition": cd }),
        });
        res.end(`body of ${req.url}`);
        return;
      }
      case "/status":
        res.writeHead(Number(new URL(req.url!, "http://x").searchParams.get("code")), {
          "content-type": "text/plain",
        });
        res.end("status body");
        return;
      case "/r1":
        res.writeHead(302, { location: "/r2" });
        res.end();
        return;
      case "/r2":
        res.writeHead(307, { location: "/status?code=200" });
        res.end();
        return;
      default:
        echo(req, res);
    }
  });
});
after(async () => {
  for (const r of hanging) r.destroy();
  await srv.close();
  rmSync(dir, { recursive: true, force: true });
});

const CLI = [process.execPath, "--import", "tsx", "--conditions=phial-source", "src/cli/main.ts"];
const sh = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
const CLI_SH = CLI.map(sh).join(" ");

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: Buffer;
  err: string;
}

/** Runs a shell command line asynchronously (the server answering it lives in this process). */
function run(
  cmd: string,
  env: Record<string, string> = {},
  onStderr?: (s: string) => void,
  onStart?: (interrupt: () => void) => void,
): Promise<Ran> {
  // NO_COLOR and FORCE_COLOR are left out, not set empty: Node warns on stderr when both are set.
  const base: NodeJS.ProcessEnv = { ...process.env, TERM: "xterm" };
  delete base.NO_COLOR;
  delete base.FORCE_COLOR;
  const child = spawn("bash", ["-c", cmd], {
    env: { ...base, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const out: Buffer[] = [];
  let err = "";
  child.stdout.on("data", (d: Buffer) => out.push(d));
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
    onStderr?.(err);
  });
  onStart?.(() => process.kill(-child.pid!, "SIGINT"));
  return new Promise((r) =>
    child.on("close", (code, signal) => r({ code, signal, out: Buffer.concat(out), err })),
  );
}

/** Runs the CLI in a pseudo-terminal of `cols` columns; what the terminal showed comes back. */
function inTerminal(args: string, cols = 80): Promise<Ran> {
  return run(`script -qec ${sh(`stty cols ${cols} rows 24; ${CLI_SH} ${args}`)} /dev/null`);
}

const haveScript = spawnSync("script", ["--version"]).status === 0;
const haveJq = spawnSync("jq", ["--version"]).status === 0;

describe("phial get through pipes and files", () => {
  test("| head -1: the first line, no EPIPE stack, exit 0", async () => {
    const r = await run(`${CLI_SH} get ${srv.url}/lines | head -1; echo "status=\${PIPESTATUS[0]}" >&2`);
    assert.equal(r.out.toString(), "first line\n");
    assert.equal(r.err, "status=0\n");
  });

  test("| jq reads the body (no head on a pipe)", { skip: !haveJq && "jq is not installed" }, async () => {
    const r = await run(`${CLI_SH} post ${srv.url}/echo name=Ada | jq -r .body`);
    assert.equal(r.err, "");
    assert.equal(r.out.toString(), '{"name": "Ada"}\n');
  });

  test("> file.bin gets exactly the body's bytes", async () => {
    const f = join(dir, "redirected.bin");
    const r = await run(`${CLI_SH} get ${srv.url}/data > ${sh(f)}`);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(readFileSync(f), DATA);
  });

  test("stdin is the raw body (phial post URL < file), typed by its content", async () => {
    const f = join(dir, "in.json");
    writeFileSync(f, '{"n": 12345678901234567890}');
    const r = await run(`${CLI_SH} post ${srv.url}/echo < ${sh(f)}`);
    const seen = JSON.parse(r.out.toString()) as { body: string; contentType: string };
    assert.equal(seen.body, '{"n": 12345678901234567890}');
    assert.equal(seen.contentType, "application/json");
    // Without a method, a body makes it a POST (as httpie).
    const r2 = await run(`printf 'a b' | ${CLI_SH} ${srv.url}/echo`);
    assert.deepEqual(JSON.parse(r2.out.toString()).method, "POST");
    assert.equal(JSON.parse(r2.out.toString()).body, "a b");
  });

  test("a 4xx on a pipe: body on stdout, a warning on stderr; --check-status exits 4", async () => {
    const r = await run(`${CLI_SH} get ${srv.url}/status code==404`);
    assert.equal(r.code, 0);
    assert.equal(r.out.toString(), "status body");
    assert.equal(r.err, "phial: warning: HTTP 404 Not Found\n");
    const c = await run(`${CLI_SH} get --check-status ${srv.url}/status code==503`);
    assert.equal(c.code, 5);
  });
});

describe("phial get in a terminal", { skip: !haveScript && "script(1) is not installed" }, () => {
  test("the head, a blank line and pretty JSON with colours; big integers and duplicate keys as sent", async () => {
    const r = await inTerminal(`get ${srv.url}/json`);
    const shown = r.out.toString().replace(/\r\n/g, "\n");
    assert.equal(r.code, 0);
    assert.match(shown, /^\x1b\[34mHTTP\/1\.1\x1b\[0m \x1b\[32m\x1b\[1m200 OK/);
    const plain = shown.replace(/\x1b\[[0-9;]*m/g, "");
    assert.match(
      plain,
      /\n\n\{\n {2}"id": 12345678901234567890,\n {2}"a": 1,\n {2}"a": 2,\n {2}"s": "\\u00e9\\n",\n {2}"f": 1\.50e\+3\n\}\n$/,
    );
  });

  test("binary is not dumped, and the notice comes at once though the body never ends", async () => {
    const started = Date.now();
    const r = await inTerminal(`get ${srv.url}/stream-bin`);
    assert.equal(r.code, 0);
    assert.match(r.out.toString(), /binary data not shown; use -o FILE/);
    assert.ok(Date.now() - started < 15_000);
    const n = await inTerminal(`get -b ${srv.url}/nul-text`);
    assert.doesNotMatch(n.out.toString(), /abc|def/);
    assert.match(n.out.toString(), /binary data not shown/);
  });

  test("-a USER asks for the password on the terminal without echoing it", async () => {
    // script's stdin goes to the terminal: the password is typed once the prompt is up.
    const child = spawn("script", ["-qec", `${CLI_SH} get -a ada ${srv.url}/echo`, "/dev/null"], {
      env: { ...process.env, TERM: "xterm", NO_COLOR: "1" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let screen = "";
    let typed = false;
    child.stdout.on("data", (d: Buffer) => {
      screen += d.toString();
      if (!typed && screen.includes("password for ada@127.0.0.1:")) {
        typed = true;
        child.stdin.write("s3cr3t\r");
      }
    });
    const code = await new Promise<number | null>((r) => child.on("close", r));
    child.stdin.destroy();
    assert.equal(code, 0, screen);
    assert.match(screen, /"auth": "Basic YWRhOnMzY3IzdA=="/); // ada:s3cr3t
    assert.doesNotMatch(screen, /s3cr3t/);
  });

  test("the progress bar fits a 40-column terminal; the result is on a line of its own", async () => {
    const f = join(dir, "narrow.bin");
    const r = await inTerminal(`get -o ${sh(f)} ${srv.url}/data`, 40);
    assert.equal(r.code, 0, r.out.toString());
    assert.deepEqual(readFileSync(f), DATA);
    const screen = r.out.toString();
    const frames = screen.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").split(/\r\n|\r|\n/);
    const bars = frames.filter((l) => l.includes("%"));
    assert.ok(bars.length > 0, screen);
    for (const frame of bars)
      assert.ok(frame.length < 40, `wider than the terminal: ${JSON.stringify(frame)}`);
    assert.match(screen, /\] 100%/);
    assert.match(screen, /\nSaved 293\.0 KiB to /);
  });
});

describe("issue 16's failing cases", () => {
  test("-o to a missing folder, a folder, or a full disk is an error naming the file; no 'Saved'", async () => {
    for (const [target, why] of [
      [join(dir, "no-such-dir", "x.bin"), /ENOENT/],
      [dir, /EISDIR/],
      ["/dev/full", /ENOSPC/],
    ] as const) {
      const t = io();
      assert.equal(await main(["get", "-o", target, `${srv.url}/small`], t), 1, target);
      assert.match(t.stderr.text, why);
      assert.match(t.stderr.text, new RegExp(`phial: error: .*${target.replace(/[/.]/g, "\\$&")}`));
      assert.doesNotMatch(t.stderr.text, /Saved/);
    }
  });

  test("a cut download: the error on its own line after the bar, the partial file named; --continue resumes", async () => {
    const f = join(dir, "cut.bin");
    const t = io({ errTty: true, columns: 60, env: { NO_COLOR: "1" } });
    assert.equal(await main(["get", "-o", f, `${srv.url}/cut`], t), 1);
    const err = t.stderr.text;
    assert.match(err, /\x1b\[K\nphial: error: The server closed the connection/);
    assert.match(
      err,
      new RegExp(
        `\\nphial: 97\\.7 KiB of 195\\.3 KiB saved: ${f.replace(/[/.]/g, "\\$&")} is a partial file; run the same command with --continue to resume\\n$`,
      ),
    );
    assert.equal(statSync(f).size, 100_000);
    // Resume a partial file with Range: the rest is appended.
    const part = join(dir, "part.bin");
    writeFileSync(part, DATA.subarray(0, 123_456));
    const c = io();
    assert.equal(await main(["get", "-c", "-o", part, `${srv.url}/resumable`], c), 0, c.stderr.text);
    assert.deepEqual(readFileSync(part), DATA);
    // Already complete: 416 with the same length is not an error.
    const again = io();
    assert.equal(await main(["get", "--continue", "-o", part, `${srv.url}/resumable`], again), 0);
    assert.match(again.stderr.text, /already complete/);
  });

  test("-d names the file after Content-Disposition or the URL, never outside the folder, never over a file", async () => {
    const d = mkdtempSync(join(dir, "dl-"));
    const get = async (path: string) => {
      const t = io({ cwd: d });
      assert.equal(await main(["get", "-d", `${srv.url}${path}`], t), 0, t.stderr.text);
      return t.stderr.text.match(/Saved \d+ B to (.*)\n$/)![1]!;
    };
    assert.equal(await get("/dl/report.pdf"), join(d, "report.pdf"));
    assert.equal(await get("/dl/report.pdf"), join(d, "report.pdf-1"));
    assert.equal(readFileSync(join(d, "report.pdf-1"), "utf8"), "body of /dl/report.pdf");
    assert.equal(await get("/dl/"), join(d, "index.html"));
    const evil = encodeURIComponent('attachment; filename="../../.evil.sh"');
    assert.equal(await get(`/dl/named?cd=${evil}`), join(d, "evil.sh"));
    const utf8 = encodeURIComponent(
      "attachment; filename=\"plain.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt",
    );
    assert.equal(await get(`/dl/named?cd=${utf8}`), join(d, "résumé.txt"));
  });

  test("Ctrl-C during a download: exit 130, the partial file named, and --continue finishes it", async () => {
    const f = join(dir, "interrupted.bin");
    let kill: (() => void) | undefined;
    const poll = setInterval(() => {
      if (kill !== undefined && existsSync(f) && statSync(f).size >= 100_000) {
        clearInterval(poll);
        kill();
      }
    }, 50);
    const r = await run(`exec ${CLI_SH} get -o ${sh(f)} ${srv.url}/resumable`, {}, undefined, (k) => {
      kill = k;
    });
    clearInterval(poll);
    assert.equal(r.code, 130, r.err);
    assert.match(r.err, /phial: error: interrupted\n/);
    assert.match(
      r.err,
      /97\.7 KiB of 293\.0 KiB saved: .*interrupted\.bin is a partial file; run the same command with --continue/,
    );
    const c = await run(`${CLI_SH} get --continue -o ${sh(f)} ${srv.url}/resumable`);
    assert.equal(c.code, 0, c.err);
    assert.deepEqual(readFileSync(f), DATA);
  });

  test("--timeout is silence (a slow trickle passes), --max-time the whole exchange; both exit 2", async () => {
    const ok = io();
    assert.equal(await main(["get", "--timeout=1", `${srv.url}/trickle`], ok), 0, ok.stderr.text);
    assert.equal(ok.stdout.text, "xxxxxx");
    const whole = io();
    assert.equal(await main(["get", "--max-time", "0.6", `${srv.url}/trickle`], whole), 2);
    assert.match(whole.stderr.text, /phial: error: .*600 ?ms/);
    const silent = io();
    assert.equal(await main(["get", "--timeout", "0.4", `${srv.url}/silent`], silent), 2);
    assert.match(silent.stderr.text, /phial: error: .*400 ?ms/);
  });

  test("combined short flags (-vk), --flag=value, -a user:pass and bearer", async () => {
    const t = io();
    assert.equal(await main(["get", "-vk", `${srv.url}/echo`], t), 0, t.stderr.text);
    assert.match(t.stdout.text, /^GET \/echo HTTP\/1\.1\n/);
    const b = io();
    assert.equal(await main(["get", "-a", "ada:s3cr:et", `${srv.url}/echo`], b), 0);
    assert.equal(JSON.parse(b.stdout.text).auth, `Basic ${Buffer.from("ada:s3cr:et").toString("base64")}`);
    const bearer = io();
    assert.equal(await main(["get", "-A", "bearer", "--auth=tok.en", `${srv.url}/echo`], bearer), 0);
    assert.equal(JSON.parse(bearer.stdout.text).auth, "Bearer tok.en");
    const bad = io();
    assert.equal(await main(["get", "-a", "nopass", `${srv.url}/echo`], bad), 2);
    assert.match(bad.stderr.text, /-a takes USER:PASSWORD \(no terminal to ask the password on\)/);
  });

  test("HEAD prints its head on a pipe too; an Authorization item wins over -a (one header)", async () => {
    const h = io();
    assert.equal(await main(["head", `${srv.url}/status`, "code==204"], h), 0);
    assert.match(h.stdout.text, /^HTTP\/1\.1 204 No Content\n/);
    const a = io();
    assert.equal(await main(["get", "-a", "u:p", `${srv.url}/echo`, "Authorization:Token t"], a), 0);
    assert.equal(JSON.parse(a.stdout.text).auth, "Token t");
  });

  test("stdin, @file and --raw bodies are sent (not an empty POST)", async () => {
    const t = io({ stdin: Buffer.from("from stdin") });
    assert.equal(await main(["post", `${srv.url}/echo`], t), 0);
    assert.equal(JSON.parse(t.stdout.text).body, "from stdin");
    assert.equal(JSON.parse(t.stdout.text).contentType, "text/plain; charset=utf-8");
    writeFileSync(join(dir, "body.xml"), "<a/>");
    const f = io({ cwd: dir });
    assert.equal(await main(["put", `${srv.url}/echo`, "@body.xml"], f), 0);
    assert.equal(JSON.parse(f.stdout.text).body, "<a/>");
    assert.equal(JSON.parse(f.stdout.text).contentType, "application/xml");
    const r = io();
    assert.equal(await main(["post", "--raw", "[1,2]", `${srv.url}/echo`], r), 0);
    assert.equal(JSON.parse(r.stdout.text).body, "[1,2]");
    assert.equal(JSON.parse(r.stdout.text).contentType, "application/json");
    // -I ignores stdin.
    const ig = io({ stdin: Buffer.from("ignored") });
    assert.equal(await main(["post", "-I", `${srv.url}/echo`], ig), 0);
    assert.equal(JSON.parse(ig.stdout.text).body, "");
  });

  test("=@ and :=@ read values from files; := sends big integers as typed", async () => {
    writeFileSync(join(dir, "bio.txt"), "line one\nline two\n");
    writeFileSync(join(dir, "meta.json"), '{"big": 98765432109876543210}\n');
    const t = io({ cwd: dir });
    assert.equal(
      await main(
        ["post", `${srv.url}/echo`, "bio=@bio.txt", "meta:=@meta.json", "n:=12345678901234567890"],
        t,
      ),
      0,
    );
    assert.equal(
      JSON.parse(t.stdout.text).body,
      '{"bio": "line one\\nline two", "meta": {"big": 98765432109876543210}, "n": 12345678901234567890}',
    );
  });

  test("exit statuses with --check-status: 3 for an unfollowed 3xx, 4, 5, 6 for a loop; 0 without", async () => {
    const cases: [string[], number][] = [
      [["--check-status", "--no-follow", `${srv.url}/r1`], 3],
      [["--check-status", `${srv.url}/status`, "code==418"], 4],
      [["--check-status", `${srv.url}/status`, "code==500"], 5],
      [["--check-status", `${srv.url}/status`, "code==200"], 0],
      [[`${srv.url}/status`, "code==500"], 0],
      [["--max-redirects", "1", `${srv.url}/r1`], 6],
    ];
    for (const [args, want] of cases) {
      const t = io();
      assert.equal(await main(["get", ...args], t), want, args.join(" "));
    }
  });

  test("any method in any case: GET, post, PROPFIND; phial URL alone is a GET", async () => {
    for (const [args, want] of [
      [["GET", `${srv.url}/echo`], "GET"],
      [["post", `${srv.url}/echo`], "POST"],
      [["Patch", `${srv.url}/echo`], "PATCH"],
      [["propfind", `${srv.url}/echo`], "PROPFIND"],
      [[`${srv.url}/echo`], "GET"],
      [[`${srv.url}/echo`, "a=1"], "POST"],
      [["-v", `${srv.url}/echo`], "GET"],
    ] as const) {
      const t = io();
      assert.equal(await main([...args], t), 0, args.join(" "));
      const at = t.stdout.text.lastIndexOf("\n\n");
      assert.equal(JSON.parse(at === -1 ? t.stdout.text : t.stdout.text.slice(at + 2)).method, want);
    }
  });

  test("-v shows each redirect's response, then the final one", async () => {
    const t = io();
    assert.equal(await main(["get", "-v", `${srv.url}/r1`], t), 0);
    const heads = t.stdout.text.match(/^(GET \S+|HTTP\/1\.1 \d+)/gm);
    assert.deepEqual(heads, [
      "GET /r1",
      "HTTP/1.1 302",
      "GET /r2",
      "HTTP/1.1 307",
      "GET /status?code=200",
      "HTTP/1.1 200",
    ]);
    assert.match(t.stdout.text, /\n\nstatus body$/);
  });
});

describe("pieces", () => {
  test("progressLine never needs more than the given columns", () => {
    for (let cols = 1; cols <= 200; cols++)
      for (const [got, total] of [
        [0, 1024 ** 3 * 3],
        [123_456_789, 1024 ** 3 * 3],
        [5, -1],
        [1024 ** 3 * 7, -1],
      ] as const) {
        const line = progressLine(got, total, 12_345_678, cols);
        assert.ok(line.length <= Math.max(1, cols - 1), `${cols}: ${line}`);
      }
    assert.equal(progressLine(50, 100, 10, 80).startsWith("[####################...................."), true);
  });

  test("formatJson keeps tokens byte for byte and refuses what is not JSON", () => {
    assert.equal(
      formatJson('{"a":[1,{"b":null}],"a":-0.5e-7}'),
      '{\n  "a": [\n    1,\n    {\n      "b": null\n    }\n  ],\n  "a": -0.5e-7\n}',
    );
    assert.equal(formatJson("[]"), "[]");
    for (const bad of ["", "{", "[1,]", '{"a" 1}', "01", "1.", '"\\x"', "tru", "[1] 2", '"\u0001"', "-"])
      assert.equal(formatJson(bad), undefined, bad);
    assert.equal(formatJson(`${"[".repeat(5000)}${"]".repeat(5000)}`), undefined);
  });
});
