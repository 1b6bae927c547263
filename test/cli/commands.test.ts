// The app's own commands (`app.cli.command`) and `phial shell`, run as a user runs them.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "bin", "phial.js");
const APP = join(ROOT, "test", "cli", "fixtures", "commands.ts");

function phial(args: string[], input?: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, out, err }));
    if (input !== undefined) child.stdin.end(input);
  });
}

test("phial --app APP <command> runs the app's command with its arguments; its return is the exit code", async () => {
  const r = await phial(["--app", APP, "greet", "ada", "--shout"]);
  assert.equal(r.err, "");
  assert.equal(r.out, "HELLO ADA\n");
  assert.equal(r.code, 0);
  const link = await phial(["--app", APP, "link", "7"]);
  assert.equal(link.out, "/users/7 true\n", "urlFor and g work: a request context");
  assert.equal((await phial(["--app", APP, "fail"])).code, 3);
  const help = await phial(["--app", APP, "greet", "--help"]);
  assert.match(help.out, /Say hello \(--shout for capitals\)/);
  const list = await phial(["--app", APP, "--help"]);
  assert.match(list.out, /The app's commands:\n {2}greet {2}Say hello/);
  const unknown = await phial(["--app", APP, "nope"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown command "nope"/);
});

test("phial shell: a REPL with the app, each line in a request context", async () => {
  const r = await phial(
    ["--app", APP, "shell"],
    'app.urlFor("user", { id: 3 })\nrequest.path\ng.x = 1; g.x + 1\nconst { urlFor } = await import("phial"); urlFor("user", { id: 4 })\n.exit\n',
  );
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /'\/users\/3'/);
  assert.match(r.out, /'\/'/);
  assert.match(r.out, /\b2\b/);
  assert.match(r.out, /'\/users\/4'/, "the phial globals see the request context");
});
