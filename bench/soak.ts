// `npm run bench:soak [-- --requests N --step N --scenario S --rows a,b --write]`: memory over time at
// full load. Each row (phial framework, node:http, fastify) is a server process started with
// --expose-gc, pinned to core 0, and gets `requests` requests at full load (wrk, 50 connections, on
// core 1; autocannon when wrk is missing) in steps of `step`. Between steps, with no load running, the
// runner asks the server over its IPC channel (not over HTTP: the measured path stays as it is) for its
// RSS, then for a full GC and its RSS and JS heap after it. Rows run one after another in one run.
//
// Defaults are a smoke run (200,000 requests per row in steps of 20,000); the full soak is
//   SOAK_REQUESTS=1000000 npm run bench:soak            (steps of a tenth: 0, 100k, … 1M)
// "Flat" is judged by a stated rule (see FLAT below). --write replaces the soak section of
// docs/benchmarks.md and writes docs/benchmarks-soak.svg.

import { readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { formatMarkdown, printHeaderHelp, replaceSection } from "./lib/doc-section.ts";
import { pickTool, runLoad } from "./lib/load.ts";
import { loadTool, machineInfo } from "./lib/machine.ts";
import { canPin, ServerChild } from "./lib/proc.ts";
import { SERVER_ROWS } from "./lib/rows.ts";
import { SERVER_SCENARIOS } from "./lib/scenarios.ts";
import type { Scenario } from "./servers/common.ts";

const ROOT = join(import.meta.dirname, "..");
const { values } = parseArgs({
  options: {
    requests: { type: "string", default: process.env.SOAK_REQUESTS ?? "200000" },
    step: { type: "string", default: process.env.SOAK_STEP },
    connections: { type: "string", default: process.env.SOAK_CONNECTIONS ?? "50" },
    scenario: { type: "string", default: process.env.SOAK_SCENARIO ?? "json-param" },
    rows: { type: "string", default: process.env.SOAK_ROWS ?? "phial-framework,node-http,fastify" },
    write: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  printHeaderHelp(import.meta.filename);
  process.exit(0);
}

const total = Number(values.requests);
const step = Number(values.step ?? Math.round(total / 10));
const connections = Number(values.connections);
if (!(total > 0 && step > 0 && step <= total && connections > 0))
  throw new Error("--requests, --step and --connections must be positive, with step ≤ requests");
const scenario = SERVER_SCENARIOS.find((s) => s.id === values.scenario);
if (scenario === undefined || scenario.load.pipeline > 1 || scenario.load.paths.length > 1)
  throw new Error(
    `--scenario: one of hello, json-param, post-echo, not-found, static, template (got ${values.scenario})`,
  );
const rows = values.rows.split(",").map((id) => {
  const r = SERVER_ROWS.find((x) => x.id === id);
  if (r === undefined)
    throw new Error(`--rows: no row "${id}" (rows: ${SERVER_ROWS.map((x) => x.id).join(", ")})`);
  return r;
});

/**
 * The rule for "flat", over the second half of the run (the samples from half the requests on):
 * - the JS heap plus external memory (Buffers) after a full GC stays within FLAT.jsMiB of the half-way
 *   sample: what a leak of objects or buffers would move, and steady to a few hundred KiB otherwise;
 * - RSS after a full GC never rises more than FLAT.rssMiB above the highest RSS of the first half. RSS
 *   moves in steps of several MiB either way as the allocator takes and returns pages, so a range rule
 *   would flag noise; a leak keeps setting new highs. The first half holds the warm-up (JIT code, pools,
 *   the allocator reaching its working size): growth that stops.
 */
const FLAT = { rssMiB: 8, jsMiB: 2 };

interface Sample {
  requests: number;
  /** RSS right after the step's load ended, before the GC. */
  rssLoaded: number;
  rss: number;
  heap: number;
  external: number;
}

interface RowResult {
  id: string;
  label: string;
  samples: Sample[];
  seconds: number;
  errors: number;
  badStatus: number;
  cpuUsPerReq: number;
  /** Highest RSS after GC in the second half minus the highest in the first, MiB. */
  rssOverMiB: number;
  /** Largest distance of heap + external after GC in the second half from the half-way sample, MiB. */
  jsDriftMiB: number;
  flat: boolean;
}

const MiB = 2 ** 20;
const tool = pickTool(process.env.BENCH_LOAD);
const log = (s: string) => process.stderr.write(`${s}\n`);
const started = Date.now();
const loadBefore = loadavg()[0] ?? 0;
const results: RowResult[] = [];

for (const row of rows) {
  const file = join(ROOT, "bench", row.file);
  const child = await ServerChild.start(file, scenario.id as Scenario, {
    core: 0,
    nodeArgs: ["--expose-gc"],
  });
  if (child === "unsupported") throw new Error(`${row.id} has no ${scenario.id} app`);
  try {
    const m0 = await child.mem();
    const samples: Sample[] = [
      { requests: 0, rssLoaded: m0.rss, rss: m0.rss, heap: m0.heapUsed, external: m0.external },
    ];
    let done = 0;
    let errors = 0;
    let badStatus = 0;
    let cpuMicros = 0;
    const t0 = Date.now();
    // wrk is interrupted once it has sent a step's requests, and the answers in flight then (at most one
    // per connection) are lost: each step asks for that many more, and a step that ends within
    // `connections` of its target counts as having reached it.
    for (let target = step; done < total - connections; target = Math.min(total, target + step)) {
      child.cpuStart();
      const r = await runLoad(tool, {
        port: child.port,
        spec: scenario.load,
        seconds: 600,
        // (autocannon stops at exactly `amount` answers: no allowance needed.)
        amount: tool === "wrk" ? Math.max(connections, target - done + connections) : target - done,
        connections,
        core: 1,
      });
      const cpu = await child.cpuStop();
      cpuMicros += cpu.micros;
      done += r.requests;
      errors += r.socketErrors;
      badStatus += r.badStatus;
      const m = await child.mem();
      samples.push({
        requests: done,
        rssLoaded: cpu.rss,
        rss: m.rss,
        heap: m.heapUsed,
        external: m.external,
      });
      log(
        `${row.label}: ${done.toLocaleString("en-US")} requests, ${Math.round(r.rps)} req/s; ` +
          `RSS ${(cpu.rss / MiB).toFixed(1)} MiB loaded, ${(m.rss / MiB).toFixed(1)} MiB after GC, heap ${(m.heapUsed / MiB).toFixed(1)} MiB, external ${(m.external / MiB).toFixed(1)} MiB`,
      );
      if (r.requests === 0) throw new Error(`${row.label}: a step got no answers`);
    }
    const seconds = (Date.now() - t0) / 1000;
    const mid = samples.findIndex((s) => s.requests >= total / 2);
    const firstHalf = samples.slice(0, mid);
    const second = samples.slice(mid);
    const from = second[0]!;
    const js = (s: Sample) => s.heap + s.external;
    const rssOver = (Math.max(...second.map((s) => s.rss)) - Math.max(...firstHalf.map((s) => s.rss))) / MiB;
    const jsDrift = Math.max(...second.map((s) => Math.abs(js(s) - js(from)))) / MiB;
    results.push({
      id: row.id,
      label: row.label,
      samples,
      seconds,
      errors,
      badStatus,
      cpuUsPerReq: cpuMicros / done,
      rssOverMiB: rssOver,
      jsDriftMiB: jsDrift,
      flat: rssOver <= FLAT.rssMiB && jsDrift <= FLAT.jsMiB,
    });
  } finally {
    await child.stop();
  }
}

// ---- report ----

const mib = (b: number) => (b / MiB).toFixed(1);
const k = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(n % 1e6 === 0 ? 0 : 2)}M` : `${Math.round(n / 1000)}k`;

function table(): string {
  const lines = [
    `| requests | ${results.map((r) => `${r.label} RSS after GC (MiB)`).join(" | ")} | ${results.map((r) => `${r.label} heap + external (MiB)`).join(" | ")} |`,
    `| ---: | ${results.map(() => "---:").join(" | ")} | ${results.map(() => "---:").join(" | ")} |`,
  ];
  const n = Math.max(...results.map((r) => r.samples.length));
  for (let i = 0; i < n; i++) {
    const reqs = results.map((r) => r.samples[i]?.requests).find((x) => x !== undefined) ?? 0;
    lines.push(
      `| ${i === 0 ? "0 (started)" : k(Math.round(reqs / 1000) * 1000)} | ${results.map((r) => (r.samples[i] === undefined ? "—" : mib(r.samples[i]!.rss))).join(" | ")} | ${results.map((r) => (r.samples[i] === undefined ? "—" : mib(r.samples[i]!.heap + r.samples[i]!.external))).join(" | ")} |`,
    );
  }
  return lines.join("\n");
}

function verdicts(): string {
  const lines = [
    "| server | requests | time (s) | req/s | CPU µs/req | RSS after GC: start → end (MiB) | RSS at the end of a step, before GC, max (MiB) | 2nd half: RSS above 1st-half peak / heap + external drift (MiB) | flat? | errors |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
  ];
  for (const r of results) {
    const last = r.samples.at(-1)!;
    lines.push(
      `| ${r.label} | ${last.requests.toLocaleString("en-US")} | ${r.seconds.toFixed(0)} | ${Math.round(last.requests / r.seconds).toLocaleString("en-US")} | ${r.cpuUsPerReq.toFixed(1)} | ${mib(r.samples[0]!.rss)} → ${mib(last.rss)} | ${mib(Math.max(...r.samples.map((s) => s.rssLoaded)))} | ${r.rssOverMiB.toFixed(1)} / ${r.jsDriftMiB.toFixed(2)} | ${r.flat ? "flat" : "**not flat**"} | ${r.errors + r.badStatus} |`,
    );
  }
  return lines.join("\n");
}

/** An ASCII plot of RSS after GC against requests: one letter per row. */
function asciiPlot(width = 60, height = 14): string {
  const all = results.flatMap((r) => r.samples.map((s) => s.rss));
  const lo = Math.floor(Math.min(...all) / MiB);
  const hi = Math.ceil(Math.max(...all) / MiB);
  const span = Math.max(1, hi - lo);
  const maxReq = Math.max(...results.flatMap((r) => r.samples.map((s) => s.requests)));
  const grid = Array.from({ length: height }, () => Array.from({ length: width }, () => " "));
  const marks: string[] = [];
  for (const [i, r] of results.entries()) {
    const c = r.label[0]!.toUpperCase();
    marks.push(marks.includes(c) ? String(i + 1) : c);
  }
  results.forEach((r, i) => {
    for (const s of r.samples) {
      const x = Math.min(width - 1, Math.round((s.requests / maxReq) * (width - 1)));
      const y = height - 1 - Math.round(((s.rss / MiB - lo) / span) * (height - 1));
      grid[y]![x] = grid[y]![x] === " " ? marks[i]! : "*";
    }
  });
  const out = grid.map((row, y) => {
    const v = hi - (y / (height - 1)) * span;
    return `${v.toFixed(span < 20 ? 1 : 0).padStart(6)} MiB |${row.join("")}`;
  });
  out.push(`${" ".repeat(11)}+${"-".repeat(width)}`);
  out.push(`${" ".repeat(12)}0${" ".repeat(width - 2 - k(maxReq).length)}${k(maxReq)} requests`);
  out.push(`${" ".repeat(12)}${results.map((r, i) => `${marks[i]} = ${r.label}`).join(", ")}; * = overlap`);
  return out.join("\n");
}

const COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e"];

function svg(): string {
  const W = 640;
  const H = 320;
  const L = 60;
  const R = 170;
  const T = 20;
  const B = 40;
  const all = results.flatMap((r) => r.samples.map((s) => s.rss / MiB));
  const lo = Math.max(0, Math.floor(Math.min(...all) / 10) * 10);
  const hi = Math.ceil(Math.max(...all) / 10) * 10;
  const maxReq = Math.max(...results.flatMap((r) => r.samples.map((s) => s.requests)));
  const x = (n: number) => L + (n / maxReq) * (W - L - R);
  const y = (v: number) => T + (1 - (v - lo) / Math.max(1, hi - lo)) * (H - T - B);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="13">RSS after a full GC (MiB) over ${k(maxReq)} requests, ${scenario!.title}</text>`,
  ];
  for (let v = lo; v <= hi; v += Math.max(5, Math.round((hi - lo) / 5 / 5) * 5)) {
    parts.push(
      `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${v}</text>`,
    );
  }
  for (let i = 0; i <= 5; i++) {
    const n = (maxReq * i) / 5;
    parts.push(`<text x="${x(n)}" y="${H - B + 16}" text-anchor="middle">${k(n)}</text>`);
  }
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle">requests</text>`);
  results.forEach((r, i) => {
    const c = COLORS[i % COLORS.length];
    const pts = r.samples.map((s) => `${x(s.requests).toFixed(1)},${y(s.rss / MiB).toFixed(1)}`).join(" ");
    parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts}"/>`);
    for (const s of r.samples)
      parts.push(
        `<circle cx="${x(s.requests).toFixed(1)}" cy="${y(s.rss / MiB).toFixed(1)}" r="2.5" fill="${c}"/>`,
      );
    parts.push(
      `<rect x="${W - R + 12}" y="${T + 10 + i * 18}" width="12" height="3" fill="${c}"/>`,
      `<text x="${W - R + 30}" y="${T + 15 + i * 18}">${r.label}</text>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

const m = machineInfo(loadTool(tool, ROOT));
const loadAfter = loadavg()[0] ?? 0;
const md = [
  "## Soak: memory over 1,000,000 requests",
  "",
  "`npm run bench:soak` (bench/soak.ts); the full run is `SOAK_REQUESTS=1000000 npm run bench:soak -- --write`.",
  `Scenario ${scenario.title} (${scenario.what}); ${connections} keep-alive connections at full load (${tool}, on core 1),`,
  `each server alone on core 0${canPin() ? "" : " (**not pinned**: taskset missing)"}, started with \`--expose-gc\`; the rows one after another in one run.`,
  "Between steps, with no load running, the runner asks the server over its IPC channel (not over HTTP, so the",
  "measured path is the app's own) for a full GC and its RSS, JS heap and external memory (Buffers).",
  `**Flat** means, over the second half (from ${k(total / 2)} requests on): the JS heap plus external memory (Buffers)`,
  `after GC stays within ${FLAT.jsMiB} MiB of the half-way sample, and RSS after GC never rises more than ${FLAT.rssMiB} MiB above`,
  "the first half's peak. RSS moves in steps of several MiB either way as the allocator takes and returns pages,",
  "so a range rule would flag noise; a leak keeps setting new highs. The first half holds the warm-up.",
  "",
  `Run: ${new Date(started).toISOString().slice(0, 16)}Z, ${Math.round((Date.now() - started) / 1000)} s; ${m.cpu}, ${m.cores} cores; Node ${m.node}; ${m.loadTool}.`,
  `Load average ${loadBefore.toFixed(1)} at the start, ${loadAfter.toFixed(1)} at the end (2 or more: other work shared the machine;`,
  "req/s is then low and noisy). The memory figures are what this section is for.",
  "",
  verdicts(),
  "",
  table(),
  "",
  "![RSS after GC over the soak](benchmarks-soak.svg)",
  "",
  "```text",
  asciiPlot(),
  "```",
].join("\n");

console.log(`\n${md}\n`);
if (values.write) {
  const docs = join(ROOT, "docs", "benchmarks.md");
  writeFileSync(docs, replaceSection(readFileSync(docs, "utf8"), "soak", md));
  formatMarkdown(docs);
  writeFileSync(join(ROOT, "docs", "benchmarks-soak.svg"), svg());
  log(`wrote ${docs} (soak section) and docs/benchmarks-soak.svg`);
}
