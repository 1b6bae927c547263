// The proof that Phial works in a user's own project, outside this repository: pack it (prepack builds
// dist/), install the tarball into a temporary project (which can't see this repository's
// node_modules), and there use it as a user would: plain Node ESM, TypeScript (nodenext and bundler),
// `phial new`, the new project's `npm test`, `phial run`, `phial routes`, and the compiled app on
// plain `node`. npm installs from its cache (--prefer-offline): the packages are the ones `npm ci` of
// this repository fetched. It uses ~30 s of CPU: ~40 s on an idle machine, 2-3 min on a loaded one.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

/** The environment a user's shell would have: nothing of this repository's test run. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", ...extra };
  for (const k of Object.keys(env)) {
    if (k.startsWith("PHIAL_") || k.startsWith("NODE_") || k.startsWith("npm_")) delete env[k];
  }
  return env;
}

interface Result {
  code: number | null;
  out: string;
}

/** Runs a command to its end (bounded), resolving with its exit code and output. */
async function sh(cmd: string, args: string[], cwd: string, ms = 120_000): Promise<Result> {
  const child = spawn(cmd, args, { cwd, env: userEnv(), stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => {
    out += c;
  });
  child.stderr.setEncoding("utf8").on("data", (c: string) => {
    out += c;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(timer);
  return { code, out };
}

async function ok(cmd: string, args: string[], cwd: string, ms?: number): Promise<string> {
  const r = await sh(cmd, args, cwd, ms);
  assert.equal(r.code, 0, `${cmd} ${args.join(" ")} in ${cwd} failed:\n${r.out}`);
  return r.out;
}

/** Starts a server process; resolves with its port once it prints " * Running on http://…:PORT". */
async function serve(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ port: number; child: ChildProcess; out: () => string }> {
  const child = spawn(cmd, args, { cwd, env: userEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const onData = (c: string) => {
    out += c;
  };
  child.stdout!.setEncoding("utf8").on("data", onData);
  child.stderr!.setEncoding("utf8").on("data", onData);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const m = /Running on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
    if (m !== null) return { port: Number(m[1]), child, out: () => out };
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${cmd} ${args.join(" ")} did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  await exited;
}

const TYPES = `import { Blueprint, type HandlerResult, type ParamsOf, Phial, type RunOptions } from "phial";

declare module "phial" {
  interface ConverterTypes {
    hex: bigint;
  }
  interface SessionData {
    userId?: number;
  }
}

interface User {
  id: number;
  name: string;
  tags?: string[];
}

export const app = new Phial(import.meta.url);
export const n: bigint = 1n as ParamsOf<"/h/<hex:n>">["n"]; // the augmented converter type

app.get("/user/<int:id>", (req): User => ({ id: req.params.id, name: "x" })); // an interface
app.get("/users", async (): Promise<User> => ({ id: 1, name: "y" }));
app.post("/users", async (req) => {
  const id: number | undefined = req.session.get("userId"); // the augmented session type
  if (id === undefined) return ["log in first", 401]; // async tuples
  const user: User = { id, name: "z" };
  return [user, 201, { "X-Id": String(id) }];
});
export function view(): HandlerResult {
  return { id: 1, name: "w" } satisfies User;
}
const bp = new Blueprint("bp"); // blueprints in their own files: see notes.ts
bp.get("/x", () => ({ ok: true }));
app.registerBlueprint(bp, { urlPrefix: "/bp" });
export const options: RunOptions = { port: 0 };
`;

describe("Phial installed from its tarball into a project outside the repository", () => {
  let dir = "";
  let tarball = "";
  let project = "";
  let bin = "";
  const children: ChildProcess[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "phial-install-"));
    assert.ok(relative(root, dir).startsWith(".."), "the project is outside the repository");
    await ok(npm, ["pack", "--silent", "--pack-destination", dir], root, 180_000);
    const name = readdirSync(dir).find((f) => f.endsWith(".tgz"));
    assert.ok(name !== undefined, "npm pack wrote a tarball");
    tarball = join(dir, name);
    project = join(dir, "project");
    await ok("mkdir", [project], dir);
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ name: "project", private: true, type: "module" }),
    );
    await ok(npm, ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], project);
    bin = join(project, "node_modules", ".bin", "phial");
  });

  after(async () => {
    for (const c of children) await stop(c);
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  test("the package has dist/, types and the bin, and no sources", async () => {
    const pkg = join(project, "node_modules", "phial");
    const files = readdirSync(pkg);
    assert.ok(files.includes("dist") && files.includes("bin") && files.includes("scaffold"), files.join(" "));
    assert.ok(!files.includes("src") && !files.includes("test"), files.join(" "));
    assert.ok(readdirSync(join(pkg, "dist")).includes("index.d.ts"));
  });

  test("plain Node ESM imports every entry point", async () => {
    writeFileSync(
      join(project, "check.mjs"),
      `import { Phial, jsonify } from "phial";
import { createServer } from "phial/http";
import { get } from "phial/client";
import { sessionTransaction } from "phial/testing";
const app = new Phial(import.meta.url);
app.get("/", () => jsonify([typeof createServer, typeof get, typeof sessionTransaction]));
const res = await app.testClient().get("/");
console.log(res.text);
`,
    );
    assert.equal((await ok("node", ["check.mjs"], project)).trim(), '["function","function","function"]');
  });

  // The whole apps the docs show, saved as app.ts and run as the page says (phial run, on a free port).
  for (const [page, file, region, path, body] of [
    ["README.md", "readme.ts", "quickstart", "/user/7", '{"id":7}'],
    ["docs/quickstart.md", "quickstart.ts", "hello", "/", "<h1>Hello, Phial!</h1>"],
  ] as const) {
    test(`${page}'s app, saved as app.ts, runs with \`phial run app.ts\` though it exports nothing`, async () => {
      const snippet = readFileSync(join(root, "docs", "snippets", file), "utf8");
      const found = new RegExp(`// #region ${region}\\n([\\s\\S]*?)// #endregion`).exec(snippet);
      assert.ok(found !== null, `docs/snippets/${file} has the region ${region}`);
      assert.match(found[1]!, /await app\.run\(/);
      assert.doesNotMatch(found[1]!, /export /);
      writeFileSync(join(project, "app.ts"), found[1]!);
      const s = await serve(bin, ["run", "app.ts", "--port", "0"], project);
      children.push(s.child);
      assert.equal(await (await fetch(`http://127.0.0.1:${s.port}${path}`)).text(), body);
      await stop(s.child);
      // `phial routes` finds it too.
      assert.match(await ok(bin, ["routes"], project), /GET\s+\/static\/<path:filename>/);
    });
  }

  let myapp = "";
  test("`phial new myapp --full` writes a project whose `npm test` passes", async () => {
    const out = await ok(bin, ["new", "myapp", "--full"], project);
    assert.match(out, /npm install/);
    myapp = join(project, "myapp");
    const pkg = JSON.parse(readFileSync(join(myapp, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    assert.match(pkg.dependencies.phial!, /^file:.*\.tgz$/, "depends on Phial where the project got it");
    // What users write must compile without casts (the project's tsconfig is strict, with
    // noUncheckedIndexedAccess and exactOptionalPropertyTypes; its `npm test` runs tsc first).
    writeFileSync(join(myapp, "types.ts"), TYPES);
    await ok(npm, ["install", "--prefer-offline", "--no-audit", "--no-fund"], myapp);
    const test = await ok(npm, ["test"], myapp);
    assert.match(test, /# pass 4/);
    assert.match(test, /# fail 0/);
  });

  test("its types compile with moduleResolution bundler too", async () => {
    // (`npm test` above type-checked it with the project's tsconfig: nodenext, skipLibCheck off.)
    assert.ok(myapp !== "", "the project exists");
    writeFileSync(
      join(myapp, "tsconfig.bundler.json"),
      JSON.stringify({
        extends: "./tsconfig.json",
        compilerOptions: { module: "ESNext", moduleResolution: "Bundler", skipLibCheck: true },
      }),
    );
    await ok(join(myapp, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.bundler.json"], myapp);
  });

  test("`phial run` serves it (templates, static files) and `phial routes` lists it", async () => {
    assert.ok(myapp !== "", "the project exists");
    const s = await serve(bin, ["run", "--port", "0"], myapp);
    children.push(s.child);
    const home = await fetch(`http://127.0.0.1:${s.port}/`);
    assert.equal(home.status, 200);
    assert.match(await home.text(), /<title>Home - myapp<\/title>/);
    const css = await fetch(`http://127.0.0.1:${s.port}/static/style.css`);
    assert.match(css.headers.get("content-type") ?? "", /^text\/css/);
    await css.arrayBuffer();
    await stop(s.child);
    const routes = await ok(bin, ["routes"], myapp);
    for (const rule of ["/static/<path:filename>", "/hello", "/notes/"])
      assert.ok(routes.includes(rule), routes);
  });

  test("`npx tsx app.ts` serves it: app.run() in the file Node runs", async () => {
    assert.ok(myapp !== "", "the project exists");
    const s = await serve(join(myapp, "node_modules", ".bin", "tsx"), ["app.ts"], myapp, { PORT: "0" });
    children.push(s.child);
    assert.equal((await fetch(`http://127.0.0.1:${s.port}/`)).status, 200);
    await stop(s.child);
  });

  test("compiled with `npm run build`, it serves on plain `node app.js`", async () => {
    assert.ok(myapp !== "", "the project exists");
    await ok(npm, ["run", "build"], myapp);
    const s = await serve("node", ["app.js"], myapp, { PORT: "0" });
    children.push(s.child);
    const res = await fetch(`http://127.0.0.1:${s.port}/notes/`);
    assert.deepEqual(await res.json(), { notes: [] });
    await stop(s.child);
  });
});
