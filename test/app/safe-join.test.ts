import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, win32 } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  isWindowsDeviceName,
  safeJoin,
  safeJoinWith,
  safeResolveFile,
} from "../../src/app/files/safe-join.ts";

const ROOT = "/srv/static";

describe("safeJoin (lexical)", () => {
  test("joins plain relative names", () => {
    assert.equal(safeJoin(ROOT, "a.txt"), "/srv/static/a.txt");
    assert.equal(safeJoin(ROOT, "css/site.css"), "/srv/static/css/site.css");
    assert.equal(safeJoin(ROOT, "./css//site.css"), "/srv/static/css/site.css");
    assert.equal(safeJoin(ROOT, "dir/"), "/srv/static/dir");
    assert.equal(safeJoin(ROOT, "café/ünï.txt"), "/srv/static/café/ünï.txt");
    assert.equal(safeJoin(ROOT, ".well-known/x"), "/srv/static/.well-known/x");
    assert.equal(safeJoin(ROOT, "a..b"), "/srv/static/a..b");
    assert.equal(safeJoin(ROOT, "%2e%2e/x"), "/srv/static/%2e%2e/x", "never decoded a second time");
  });

  const refused: [string, string][] = [
    ["empty", ""],
    ["only dots and slashes", "./"],
    ["parent", ".."],
    ["parent first", "../etc/passwd"],
    ["parent inside", "css/../../etc/passwd"],
    ["parent that would stay inside", "css/../a.txt"],
    ["parent last", "css/.."],
    ["triple dot", ".../x"],
    ["absolute", "/etc/passwd"],
    ["backslash traversal", "..\\..\\etc\\passwd"],
    ["backslash", "css\\site.css"],
    ["NUL", "a.txt\0.png"],
    ["control character", "a\nb"],
    ["DEL", "a\x7fb"],
    ["drive letter", "C:/Windows/win.ini"],
    ["drive-relative", "c:secret.txt"],
    ["drive letter later", "x/C:/y"],
    ["NTFS stream", "a.txt::$DATA"],
    ["device name", "NUL"],
    ["device name with extension", "con.txt"],
    ["device name nested", "x/aux.js"],
    ["device name lower case with digit", "com1"],
    ["device name with superscript digit", "LPT¹.log"],
    ["trailing dot", "secret.txt."],
    ["trailing space", "secret.txt "],
    ["UNC", "//server/share/x"],
  ];
  for (const [what, name] of refused) {
    test(`refuses ${what}: ${JSON.stringify(name)}`, () => {
      assert.equal(safeJoin(ROOT, name), undefined);
    });
  }

  test("with Windows paths (path.win32): the same refusals, and joins stay under the folder", () => {
    const root = "C:\\srv\\static";
    assert.equal(safeJoinWith(win32, root, "css/site.css"), "C:\\srv\\static\\css\\site.css");
    for (const [what, name] of refused) {
      assert.equal(safeJoinWith(win32, root, name), undefined, `${what}: ${JSON.stringify(name)}`);
    }
    for (const name of [
      "\\\\server\\share\\x",
      "\\Windows\\win.ini",
      "D:\\x",
      "a/D:x",
      "CON/x",
      "x/nul .txt",
    ]) {
      assert.equal(safeJoinWith(win32, root, name), undefined, JSON.stringify(name));
    }
  });

  test("device names are recognised only as whole stems", () => {
    assert.equal(isWindowsDeviceName("CON"), true);
    assert.equal(isWindowsDeviceName("con .txt"), true);
    assert.equal(isWindowsDeviceName("console.txt"), false);
    assert.equal(isWindowsDeviceName("com10"), false);
    assert.equal(isWindowsDeviceName("icon.png"), false);
    assert.equal(safeJoin(ROOT, "console.log"), "/srv/static/console.log");
  });
});

describe("safeResolveFile (real paths)", () => {
  let base: string;
  let root: string;
  before(() => {
    base = mkdtempSync(join(tmpdir(), "phial-safejoin-"));
    root = join(base, "static");
    mkdirSync(join(root, "sub"), { recursive: true });
    writeFileSync(join(root, "a.txt"), "a");
    writeFileSync(join(root, "sub", "b.txt"), "b");
    writeFileSync(join(base, "secret.txt"), "secret");
    symlinkSync(join(base, "secret.txt"), join(root, "leak.txt"));
    symlinkSync(base, join(root, "updir"));
    symlinkSync(join(root, "a.txt"), join(root, "alias.txt"));
    symlinkSync("sub", join(root, "subalias"));
    symlinkSync(join(root, "loop"), join(root, "loop"));
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  test("finds regular files, through symlinks that stay inside", async () => {
    assert.equal(await safeResolveFile(root, "a.txt"), join(root, "a.txt"));
    assert.equal(await safeResolveFile(root, "sub/b.txt"), join(root, "sub", "b.txt"));
    assert.equal(await safeResolveFile(root, "alias.txt"), join(root, "a.txt"));
    assert.equal(await safeResolveFile(root, "subalias/b.txt"), join(root, "sub", "b.txt"));
  });

  test("refuses symlinks escaping the folder", async () => {
    assert.equal(await safeResolveFile(root, "leak.txt"), undefined);
    assert.equal(await safeResolveFile(root, "updir/secret.txt"), undefined);
  });

  test("refuses directories, missing files, loops and traversal", async () => {
    assert.equal(await safeResolveFile(root, "sub"), undefined);
    assert.equal(await safeResolveFile(root, "missing.txt"), undefined);
    assert.equal(await safeResolveFile(root, "loop"), undefined);
    assert.equal(await safeResolveFile(root, "../secret.txt"), undefined);
    assert.equal(await safeResolveFile(join(base, "nope"), "a.txt"), undefined);
  });

  test("a folder link swapped to another release is followed at once", async () => {
    const r1 = join(base, "release1");
    const r2 = join(base, "release2");
    mkdirSync(r1);
    mkdirSync(r2);
    writeFileSync(join(r1, "v.txt"), "1");
    writeFileSync(join(r2, "v.txt"), "2");
    writeFileSync(join(r2, "new.txt"), "new");
    const current = join(base, "current");
    symlinkSync(r1, current);
    assert.equal(await safeResolveFile(current, "v.txt"), join(r1, "v.txt"));
    rmSync(current);
    symlinkSync(r2, current);
    assert.equal(await safeResolveFile(current, "v.txt"), join(r2, "v.txt"));
    assert.equal(await safeResolveFile(current, "new.txt"), join(r2, "new.txt"));
  });

  test("works when the folder itself is reached through a symlink", async () => {
    const link = join(base, "static-link");
    symlinkSync(root, link);
    assert.equal(await safeResolveFile(link, "a.txt"), join(root, "a.txt"));
    assert.equal(await safeResolveFile(link, "leak.txt"), undefined);
  });
});
