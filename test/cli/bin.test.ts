// bin/phial.js on its own: a copy of Phial with neither src/ (a clone) nor dist/ (a packed release), as
// an install from a source folder that was never built, says so in one line.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

test("a Phial without dist/: one line saying to build it, exit 1", () => {
  const dir = mkdtempSync(join(tmpdir(), "phial-nodist-"));
  try {
    mkdirSync(join(dir, "bin"));
    copyFileSync(fileURLToPath(new URL("../../bin/phial.js", import.meta.url)), join(dir, "bin", "phial.js"));
    const r = spawnSync(process.execPath, [join(dir, "bin", "phial.js"), "run"], { encoding: "utf8" });
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      `phial: this copy of Phial (${dir}) has no dist/ build: run \`npm run build\` there, or install a ` +
        "packed release (`npm pack`, then `npm install phial-<version>.tgz`).\n",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
