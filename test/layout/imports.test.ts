// The layout's rules, checked on the source's own import statements: imports point down, never back up,
// and no module imports (at run time) one that imports it back. A new cycle or an upward import fails
// here with the path of modules that make it.
//
//   src/http     the wire: imports nothing of the project outside src/http
//   src/client   the client: may import src/http (the shared parser), nothing else
//   src/app      the framework: may import src/http; inside it, the folders form layers (LAYERS below)
//   src/cli      the command line: may import anything
//
// Type-only imports (`import type`, `{ type X }`) are erased at run time and may point up (as Flask's
// modules import `Flask` under TYPE_CHECKING): `req.app` is typed `Phial`. Value imports may not.

import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SRC = join(ROOT, "src");

/**
 * The framework's layers, lowest first. A module may import values from its own layer (no cycles) and
 * from the layers below it, never from a layer above. A name is a folder under src/app or a top-level
 * file there (without `.ts`).
 */
const LAYERS: readonly (readonly string[])[] = [
  ["routing"], // rules, converters, matching and building URLs: knows nothing of requests
  ["wrappers"], // Request, Response, Headers, MultiDict, HTTP exceptions, forwarded-header trust
  // request context, settings, shared parts; redis: the shared client helpers; signals; class-based views
  [
    "context",
    "config",
    "protections",
    "realtime",
    "scaffold",
    "return-value",
    "serving",
    "redis",
    "signals",
    "views",
  ],
  // features (limits: rate limiting; fanout: messages to every instance; validation: schemas and OpenAPI;
  // commands: the app's CLI commands)
  [
    "files",
    "sessions",
    "templates",
    "debug",
    "url-for",
    "blueprint",
    "testing",
    "limits",
    "fanout",
    "validation",
    "commands",
  ],
  ["dispatch"], // the request pipeline
  ["app"], // the Phial class
];

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** True when every name an import/export statement brings in is a type (or the statement says `type`). */
function isTypeOnly(statement: string): boolean {
  if (/^(import|export)\s+type\b/.test(statement)) return true;
  const braces = statement.match(/\{([^}]*)\}/);
  if (braces === null) return false; // `import x from`, `import * as`, `export * from`, side effects
  if (/^import\s+[\w$]+\s*,/.test(statement)) return false; // a default import besides the braces
  const names = braces[1]!
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return names.length > 0 && names.every((n) => n.startsWith("type "));
}

/** The project-relative imports of every file under src/, with whether each is type-only. */
function importGraph(): Edge[] {
  const edges: Edge[] = [];
  // Whole statements: `import … from "x"`, `export … from "x"`, `import "x"`, `import("x")`.
  const statement =
    /(?:^|\n)\s*((?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']|import\s*["']([^"']+)["'])/g;
  const dynamic = /\bimport\(\s*["']([^"']+)["']\s*\)/g;
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, "utf8");
    const add = (spec: string, typeOnly: boolean) => {
      if (!spec.startsWith(".")) return;
      edges.push({ from: relative(ROOT, file), to: relative(ROOT, resolve(dirname(file), spec)), typeOnly });
    };
    for (const m of text.matchAll(statement)) {
      if (m[2] !== undefined) add(m[2], isTypeOnly(m[1]!.trim()));
      else if (m[3] !== undefined) add(m[3], false);
    }
    for (const m of text.matchAll(dynamic)) add(m[1]!, false);
  }
  return edges;
}

const EDGES = importGraph();
const VALUE = EDGES.filter((e) => !e.typeOnly);

/** The layer name of a file under src/app ("routing", "app", …), or undefined outside src/app. */
function unitOf(file: string): string | undefined {
  if (!file.startsWith("src/app/")) return undefined;
  const rest = file.slice("src/app/".length);
  const slash = rest.indexOf("/");
  return slash === -1 ? rest.replace(/\.ts$/, "") : rest.slice(0, slash);
}

function layerOf(unit: string): number {
  const i = LAYERS.findIndex((l) => l.includes(unit));
  assert.notEqual(i, -1, `src/app/${unit} is in no layer: add it to LAYERS in test/layout/imports.test.ts`);
  return i;
}

/** A cycle in a directed graph, as the list of its nodes, or undefined. */
function findCycle(nodes: Iterable<string>, next: (n: string) => Iterable<string>): string[] | undefined {
  const state = new Map<string, 1 | 2>(); // 1 on the stack, 2 done
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    state.set(n, 1);
    stack.push(n);
    for (const m of next(n)) {
      const s = state.get(m);
      if (s === 1) return [...stack.slice(stack.indexOf(m)), m];
      if (s === undefined) {
        const c = visit(m);
        if (c !== undefined) return c;
      }
    }
    stack.pop();
    state.set(n, 2);
    return undefined;
  };
  for (const n of nodes) {
    if (state.has(n)) continue;
    const c = visit(n);
    if (c !== undefined) return c;
  }
  return undefined;
}

describe("layout: imports point one way", () => {
  test("the graph is read (a broken reader would pass everything below)", () => {
    assert.ok(EDGES.length > 150, `only ${EDGES.length} imports found`);
    const e = EDGES.find((x) => x.from === "src/app/app.ts" && x.to === "src/app/dispatch.ts");
    assert.equal(e?.typeOnly, false, "app.ts imports dispatch.ts (a value)");
    const t = EDGES.find((x) => x.from === "src/app/wrappers/request.ts" && x.to === "src/app/app.ts");
    assert.equal(t?.typeOnly, true, "request.ts imports the Phial type only");
  });

  test("no module imports a value from one that imports it back (no run-time cycle in src/)", () => {
    const out = new Map<string, string[]>();
    for (const e of VALUE) out.set(e.from, [...(out.get(e.from) ?? []), e.to]);
    const cycle = findCycle(out.keys(), (n) => out.get(n) ?? []);
    assert.equal(cycle, undefined, `import cycle: ${cycle?.join(" → ")}`);
  });

  test("src/http imports nothing outside src/http, not even types", () => {
    const bad = EDGES.filter((e) => e.from.startsWith("src/http/") && !e.to.startsWith("src/http/"));
    assert.deepEqual(bad, []);
  });

  test("src/client imports src/http and itself only", () => {
    const bad = EDGES.filter(
      (e) =>
        e.from.startsWith("src/client/") && !e.to.startsWith("src/client/") && !e.to.startsWith("src/http/"),
    );
    assert.deepEqual(bad, []);
  });

  test("src/app imports neither the client nor the CLI", () => {
    const bad = EDGES.filter(
      (e) => e.from.startsWith("src/app/") && (e.to.startsWith("src/client/") || e.to.startsWith("src/cli/")),
    );
    assert.deepEqual(bad, []);
  });

  test("inside src/app, values are imported from the same layer or below, never above", () => {
    const bad: string[] = [];
    for (const e of VALUE) {
      const a = unitOf(e.from);
      const b = unitOf(e.to);
      if (a === undefined || b === undefined || a === b) continue;
      if (layerOf(b) > layerOf(a)) bad.push(`${e.from} imports ${e.to} (${a} is below ${b})`);
    }
    assert.deepEqual(bad, []);
  });

  test("inside src/app, the folders import each other's values one way (no cycle between folders)", () => {
    const out = new Map<string, Set<string>>();
    for (const e of VALUE) {
      const a = unitOf(e.from);
      const b = unitOf(e.to);
      if (a === undefined || b === undefined || a === b) continue;
      const s = out.get(a) ?? new Set<string>();
      s.add(b);
      out.set(a, s);
    }
    const cycle = findCycle(out.keys(), (n) => out.get(n) ?? []);
    assert.equal(cycle, undefined, `folders import each other: ${cycle?.join(" → ")}`);
  });

  test("the module that defines Phial is imported as a value only from outside src/app", () => {
    const bad = VALUE.filter((e) => e.to === "src/app/app.ts" && e.from.startsWith("src/app/"));
    assert.deepEqual(bad, []);
  });

  test("every src/app folder says what lives there and what it may import", () => {
    for (const name of readdirSync(join(SRC, "app"))) {
      const p = join(SRC, "app", name);
      if (!statSync(p).isDirectory()) continue;
      const index = readFileSync(join(p, "index.ts"), "utf8");
      assert.match(index, /^\/\/ /, `src/app/${name}/index.ts opens with a comment`);
      assert.match(index, /may import/i, `src/app/${name}/index.ts says what it may import`);
    }
  });
});
