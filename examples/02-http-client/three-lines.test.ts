import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { createServer } from "phial/http";

const script = fileURLToPath(new URL("three-lines.ts", import.meta.url));

function run(url: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "--conditions=phial-source", script, url],
      { encoding: "utf8", timeout: 20_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error.code as number) ?? 1) : 0, stdout, stderr }),
    );
  });
}

test("three lines print status, headers and the decoded body, and the process exits", async (t) => {
  const page = "<h1>Hello World</h1>\n".repeat(300);
  const server = createServer((req, res) => {
    if (req.url === "/old") {
      res.writeHead(302, { Location: "/" });
      res.end();
      return;
    }
    // gzip when asked, as a real server would: the client asks and decodes.
    const gz = /\bgzip\b/.test(req.header("accept-encoding") ?? "");
    res.writeHead(200, {
      "Content-Type": "text/html; charset=utf-8",
      "X-Served-By": "phial/http",
      ...(gz ? { "Content-Encoding": "gzip" } : {}),
    });
    res.end(gz ? gzipSync(page) : page);
  });
  const addr = await server.listen(0, "127.0.0.1");
  t.after(() => server.close());
  // /old redirects to /: followed without a line of code.
  const r = await run(`http://127.0.0.1:${addr.port}/old`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.split("\n", 1)[0], "200");
  assert.match(r.stdout, /'content-type': 'text\/html; charset=utf-8'/);
  assert.match(r.stdout, /'x-served-by': 'phial\/http'/);
  assert.match(r.stdout, /'content-encoding': 'gzip'/);
  assert.ok(r.stdout.endsWith(`--------------------\n${page}\n`), "the whole page, gunzipped");
});

test("a refused connection is a clear error and a failing exit", async () => {
  // Port 9 (discard) on 127.0.0.1 is closed on any test machine.
  const r = await run("http://127.0.0.1:9/");
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /127\.0\.0\.1:9/);
});
