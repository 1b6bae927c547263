// docs/flask.md maps Flask's API to Phial's: every Phial name its tables mention must exist, so the map
// can't point a porter to something that isn't there. Checked: exported names (`urlFor`, `MethodView`,
// `sessionTransaction` from phial/testing), members of an app, a blueprint, a request, a response and a
// test client (`app.teardownAppcontext`, `req.urlRoot`, `res.setCookie`, `client.getCookie`), config
// keys (`config.maxContentLength`) and commands (`phial shell`).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import * as phial from "phial";
import { Blueprint, DEFAULT_CONFIG, Phial, Response } from "phial";
import * as testing from "phial/testing";

const DOC = readFileSync(new URL("../../docs/flask.md", import.meta.url), "utf8");

/** The second cell of every table row after the map's heading. */
function phialCells(): string[] {
  const start = DOC.indexOf("## Flask's API, mapped");
  assert.ok(start !== -1, "docs/flask.md has the map");
  const end = DOC.indexOf("\n## ", start + 1);
  const cells: string[] = [];
  for (const line of DOC.slice(start, end === -1 ? undefined : end).split("\n")) {
    if (!line.startsWith("|") || /^\|\s*-+/.test(line)) continue;
    const parts = line.split("|").map((c) => c.trim());
    if (parts[1] === "Flask") continue;
    cells.push(parts[2] ?? "");
  }
  return cells;
}

function hasMember(obj: object, name: string): boolean {
  for (let o: object | null = obj; o !== null; o = Object.getPrototypeOf(o)) {
    if (Object.hasOwn(o, name)) return true;
  }
  return false;
}

test("every Phial name in docs/flask.md's map exists", async () => {
  const app = new Phial(import.meta.url, { fromEnv: false });
  const bp = new Blueprint("bp");
  const client = app.testClient();
  const res = new Response("x");
  let req: phial.Request | undefined;
  app.get("/", (r) => {
    req = r;
    return "ok";
  });
  await client.get("/");
  assert.ok(req);
  const objects: Record<string, object> = { app, bp, req, res, client, config: DEFAULT_CONFIG };
  const exported = new Set([...Object.keys(phial), ...Object.keys(testing), "TestResponse"]);
  const cli = new Set(["run", "routes", "shell", "get", "post", "put", "patch", "delete", "head"]);
  const checked: string[] = [];
  const missing: string[] = [];
  const cells = phialCells();
  assert.ok(cells.length > 60, `the map has rows (${cells.length})`);
  for (const cell of cells) {
    for (const m of cell.matchAll(/`([^`]+)`/g)) {
      const code = m[1]!;
      const command = /^phial (\w+)/.exec(code);
      const member = /^(app|bp|req|res|client|config)\.(\w+)/.exec(code);
      const bare = /^(?:new )?([A-Za-z_]\w*)(?:\(|$)/.exec(code);
      if (command !== null) {
        checked.push(code);
        if (!cli.has(command[1]!)) missing.push(code);
      } else if (member !== null) {
        checked.push(code);
        if (!hasMember(objects[member[1]!]!, member[2]!)) missing.push(code);
      } else if (bare !== null) {
        // `req`, `app`, … alone name the objects, not exports
        if (["req", "app", "bp", "res", "client"].includes(bare[1]!) && bare[0] === bare[1]) continue;
        checked.push(code);
        if (!exported.has(bare[1]!)) missing.push(code);
      }
    }
  }
  assert.deepEqual(missing, [], "names in docs/flask.md that Phial doesn't have");
  assert.ok(checked.length > 150, `checked ${checked.length} names`);
  assert.ok(checked.includes("app.teardownAppcontext") && checked.includes("MethodView"));
});

test("the differences section says SameSite=Lax is Phial's default, not Flask's", () => {
  const diff = DOC.slice(DOC.indexOf("## The differences that matter"));
  assert.match(diff, /`SameSite=Lax` is Phial's default, not Flask's/);
  for (const topic of ["RFC 9110", "trustProxy", "415", "Redirecting", "renderTemplateString", "Allow"]) {
    assert.ok(diff.includes(topic), topic);
  }
});
