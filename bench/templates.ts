// The template engine alone, no server: CPU per render of the template scenario's page
// (bench/servers/templates/page.html, 20-row table, ~4 KB) with the same data, side by side in one run:
//
//   phial        app.templates.render (Nunjucks through phial's compiler, src/app/templates/compiler.ts)
//   nunjucks     the same Nunjucks, unchanged (a FileSystemLoader environment, compiled templates cached),
//                in a Node process of its own (phial changes some of Nunjucks' runtime in its process)
//   jinja2       Python's Jinja2 rendering the same file (Flask's settings); needs python3-jinja2 and
//                says so when it is missing
//
//   npm run bench:templates [-- --seconds S] [--rounds N]
//
// Each round measures every engine for S seconds (default 1), in turn; the table gives the median of N
// rounds (default 5) and the ratios. CPU time (process.cpuUsage, Python's process_time), not wall time.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Phial } from "../src/index.ts";
import { PAGE_DATA, TEMPLATE_DIR, TEMPLATE_NAME } from "./servers/fixtures.ts";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}
const seconds = arg("seconds", 1);
const rounds = Math.round(arg("rounds", 5));

/** µs of CPU per call of `render`, over about `seconds`. */
async function measure(render: () => unknown): Promise<number> {
  let n = 0;
  const t0 = process.cpuUsage();
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 200; i++) await render();
    n += 200;
  }
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / n;
}

const app = new Phial(import.meta.url, { templateFolder: TEMPLATE_DIR });
const ours = await app.templates.render(TEMPLATE_NAME, PAGE_DATA);
const NUNJUCKS = createRequire(import.meta.url).resolve("nunjucks");

const dir = mkdtempSync(join(tmpdir(), "phial-bench-tmpl-"));
const contextFile = join(dir, "context.json");
writeFileSync(contextFile, JSON.stringify(PAGE_DATA));
const PY = `
import json, sys, time
from jinja2 import Environment, FileSystemLoader, select_autoescape
env = Environment(loader=FileSystemLoader(sys.argv[1]), autoescape=select_autoescape(["html", "htm", "xml", "xhtml", "svg"]), auto_reload=False)
ctx = json.load(open(sys.argv[3]))
seconds = float(sys.argv[4])
out = env.get_template(sys.argv[2]).render(ctx)
for _ in range(500): env.get_template(sys.argv[2]).render(ctx)
n = 0
t0 = time.process_time()
end = time.perf_counter() + seconds
while time.perf_counter() < end:
    for _ in range(200): env.get_template(sys.argv[2]).render(ctx)
    n += 200
print(json.dumps({"us": (time.process_time() - t0) / n * 1e6, "out": out}))
`;
// The same loop as measure(), in a fresh Node process with Nunjucks as published.
const JS = `
const nunjucks = require(process.argv[1]);
const [dir, name, ctxFile, seconds] = process.argv.slice(2);
const ctx = JSON.parse(require("fs").readFileSync(ctxFile, "utf8"));
const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(dir, { noCache: false }), { autoescape: true });
const out = env.render(name, ctx);
for (let i = 0; i < 500; i++) env.render(name, ctx);
let n = 0;
const t0 = process.cpuUsage();
const end = performance.now() + Number(seconds) * 1000;
while (performance.now() < end) { for (let i = 0; i < 200; i++) env.render(name, ctx); n += 200; }
const d = process.cpuUsage(t0);
console.log(JSON.stringify({ us: (d.user + d.system) / n, out }));
`;
function nunjucks(): number {
  const r = spawnSync(
    process.execPath,
    ["-e", JS, NUNJUCKS, TEMPLATE_DIR, TEMPLATE_NAME, contextFile, String(seconds)],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`the Nunjucks process failed:\n${r.stderr}`);
  const j = JSON.parse(r.stdout) as { us: number; out: string };
  // Nunjucks keeps a template's final newline, Jinja (and phial) drop it.
  if (j.out.replace(/\n$/, "") !== ours) throw new Error("phial and Nunjucks render the page differently");
  return j.us;
}

let jinjaMissing: string | undefined;
function jinja2(): number | undefined {
  if (jinjaMissing !== undefined) return undefined;
  const r = spawnSync("python3", ["-c", PY, TEMPLATE_DIR, TEMPLATE_NAME, contextFile, String(seconds)], {
    encoding: "utf8",
  });
  if (r.status !== 0) {
    jinjaMissing =
      "jinja2: skipped, python3 with Jinja2 is not installed (Debian: apt-get install python3-jinja2)";
    return undefined;
  }
  const j = JSON.parse(r.stdout) as { us: number; out: string };
  if (j.out !== ours) throw new Error("Jinja2 renders the page differently from phial");
  return j.us;
}

const results: Record<string, number[]> = { phial: [], nunjucks: [], jinja2: [] };
try {
  for (let r = 0; r < rounds; r++) {
    results.phial!.push(await measure(() => app.templates.render(TEMPLATE_NAME, PAGE_DATA)));
    results.nunjucks!.push(nunjucks());
    const j = jinja2();
    if (j !== undefined) results.jinja2!.push(j);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(results.phial!);
console.log(
  `template render, CPU µs per render (median of ${rounds} rounds × ${seconds} s), same page and data`,
);
console.log("engine     µs/render  × phial's CPU");
for (const [name, xs] of Object.entries(results)) {
  if (xs.length === 0) continue;
  const m = median(xs);
  console.log(`${name.padEnd(9)}  ${m.toFixed(1).padStart(9)}  ${(m / base).toFixed(2).padStart(12)}×`);
}
if (jinjaMissing !== undefined) console.log(jinjaMissing);
