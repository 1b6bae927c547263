// `phial new`, run as a user runs it. That the new project installs, passes `npm test` and serves is
// checked in test/package/install.test.ts (from the packed tarball); here, what it writes and refuses.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../bin/phial.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "phial-new-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function phial(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: "utf8", timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("phial new", () => {
  test("--api (the default) writes a JSON API with a test, and says what to do next", () => {
    const r = phial("new", "my-api");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /cd my-api\n\s+npm install\n\s+npm test/);
    for (const f of [
      "app.ts",
      "test/app.test.ts",
      "tsconfig.json",
      "README.md",
      ".gitignore",
      "package.json",
    ]) {
      assert.ok(existsSync(join(dir, "my-api", f)), f);
    }
    assert.ok(!existsSync(join(dir, "my-api", "templates")));
    const pkg = JSON.parse(readFileSync(join(dir, "my-api", "package.json"), "utf8"));
    assert.equal(pkg.name, "my-api");
    assert.equal(pkg.scripts.start, "phial run app.ts");
    assert.match(pkg.dependencies.phial, /^\^\d+\.\d+\.\d+$/);
    assert.match(readFileSync(join(dir, "my-api", "test", "app.test.ts"), "utf8"), /name: "my-api"/);
  });

  test("--full adds a layout and a page, static/, a session, a form and a blueprint", () => {
    const r = phial("new", "site", "--full");
    assert.equal(r.code, 0, r.err);
    for (const f of ["templates/layout.html", "templates/index.html", "static/style.css", "notes.ts"]) {
      assert.ok(existsSync(join(dir, "site", f)), f);
    }
    assert.match(readFileSync(join(dir, "site", "app.ts"), "utf8"), /req\.session\.set/);
  });

  test("depends on Phial where the surrounding project got it (a file: tarball)", () => {
    writeFileSync(
      join(dir, "package.json"),
      JSON.stringify({ dependencies: { phial: "file:phial-0.1.0.tgz" } }),
    );
    try {
      assert.equal(phial("new", "nested").code, 0);
      const pkg = JSON.parse(readFileSync(join(dir, "nested", "package.json"), "utf8"));
      assert.equal(pkg.dependencies.phial, "file:../phial-0.1.0.tgz");
      assert.equal(phial("new", "pinned", "--phial", "^9.9.9").code, 0);
      assert.equal(
        JSON.parse(readFileSync(join(dir, "pinned", "package.json"), "utf8")).dependencies.phial,
        "^9.9.9",
      );
    } finally {
      rmSync(join(dir, "package.json"));
    }
  });

  test("refuses a folder that is not empty, a bad name, and no name, in one line", () => {
    mkdirSync(join(dir, "busy"));
    writeFileSync(join(dir, "busy", "x"), "");
    const busy = phial("new", "busy");
    assert.equal(busy.code, 2);
    assert.match(
      busy.err,
      /^phial: .*busy already exists and is not empty: pick another name, or remove it\n$/,
    );
    assert.equal(readFileSync(join(dir, "busy", "x"), "utf8"), "");
    const bad = phial("new", "My App");
    assert.equal(bad.code, 2);
    assert.match(bad.err, /can't be an npm package name/);
    assert.match(phial("new").err, /name the project's folder/);
    assert.match(phial("new", "x", "--api", "--full").err, /--api or --full, not both/);
  });
});
