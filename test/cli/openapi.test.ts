// `phial openapi APP -o FILE`, run as a user runs it: `node bin/phial.js openapi …` in a child process.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Validator } from "@seriousme/openapi-schema-validator";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bin = join(root, "bin", "phial.js");

function phial(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: "1" },
    encoding: "utf8",
    timeout: 60_000,
  });
}

test("phial openapi writes the document, with serveOpenAPI's title and version, to a file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "phial-openapi-"));
  try {
    const file = join(dir, "openapi.json");
    const r = phial(["openapi", "test/cli/fixtures/api.ts", "-o", file]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /Wrote the OpenAPI document of "notes" to /);
    const doc = JSON.parse(readFileSync(file, "utf8"));
    assert.deepEqual(doc.info, { title: "Notes API", version: "1.2.3" });
    assert.deepEqual(doc.paths["/notes"].post.requestBody.content["application/json"].schema.required, [
      "title",
      "body",
    ]);
    assert.ok(doc.paths["/notes"].post.responses["201"]);
    const v = await new Validator().validate(doc);
    assert.equal(v.valid, true, JSON.stringify(v.errors));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("phial openapi to stdout, --version overriding; a missing app is a clear exit 2", () => {
  const r = phial(["openapi", "test/cli/fixtures/api.ts", "--version", "9"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).info.version, "9");
  const missing = phial(["openapi", "nope.ts"]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /phial: Can't find "nope.ts"/);
  const help = phial(["--help"]);
  assert.match(help.stdout, /openapi +write an app's OpenAPI 3\.1 document/);
});
