// `npm run bench:latency [-- --duration S --max-duration S --connections N --scenario S --rows a,b --validate --write]`:
// latency under a constant offered load. For each row (phial framework, node:http, fastify), each a
// server process pinned to core 0, one after another in one run:
//   1. its max throughput: a closed-loop run (wrk when installed, else autocannon; 50 connections);
//   2. open-loop runs at 50%, 90% and 110% of that rate with bench/lib/open-loop.ts (on core 1): a
//      constant request rate, latency measured from each request's intended send time (corrected for
//      coordinated omission, as wrk2 does), timeouts and errors counted, p99 per second of the run.
// --validate first runs the generator closed-loop against wrk on the same server, to show that the two
// agree (and how much the Node generator can push).
//
// Defaults are a smoke run (2-s max-throughput run, 3 s per rate); the full run is
//   LATENCY_SECONDS=10 LATENCY_MAX_SECONDS=5 npm run bench:latency -- --write
// --write replaces the latency section of docs/benchmarks.md.

import { readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { formatMarkdown, printHeaderHelp, replaceSection } from "./lib/doc-section.ts";
import { pickTool, runLoad } from "./lib/load.ts";
import { loadTool, machineInfo } from "./lib/machine.ts";
import { type OpenLoopResult, runOpenLoop } from "./lib/open-loop.ts";
import { canPin, ServerChild } from "./lib/proc.ts";
import { SERVER_ROWS } from "./lib/rows.ts";
import { SERVER_SCENARIOS } from "./lib/scenarios.ts";
import type { Scenario } from "./servers/common.ts";

const ROOT = join(import.meta.dirname, "..");
const { values } = parseArgs({
  options: {
    duration: { type: "string", default: process.env.LATENCY_SECONDS ?? "3" },
    "max-duration": { type: "string", default: process.env.LATENCY_MAX_SECONDS ?? "2" },
    connections: { type: "string", default: process.env.LATENCY_CONNECTIONS ?? "50" },
    timeout: { type: "string", default: process.env.LATENCY_TIMEOUT_MS ?? "2000" },
    scenario: { type: "string", default: process.env.LATENCY_SCENARIO ?? "json-param" },
    rows: { type: "string", default: process.env.LATENCY_ROWS ?? "phial-framework,node-http,fastify" },
    validate: { type: "boolean", default: false },
    write: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  printHeaderHelp(import.meta.filename);
  process.exit(0);
}

const seconds = Number(values.duration);
const maxSeconds = Number(values["max-duration"]);
const connections = Number(values.connections);
const timeoutMs = Number(values.timeout);
if (!(seconds > 0 && maxSeconds > 0 && connections > 0 && timeoutMs > 0))
  throw new Error("--duration, --max-duration, --connections and --timeout must be positive numbers");
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

const LEVELS = [0.5, 0.9, 1.1] as const;
/** A generator using more than this share of its core may itself be the limit: its row says so. */
const GENERATOR_BOUND = 0.85;

interface Validation {
  wrkRps: number;
  wrkP50: number;
  wrkP99: number;
  genRps: number;
  genP50: number;
  genP99: number;
  genCpu: number;
}

interface RowResult {
  label: string;
  maxRps: number;
  maxP99: number;
  validation: Validation | undefined;
  levels: { level: number; r: OpenLoopResult }[];
}

const tool = pickTool(process.env.BENCH_LOAD);
const log = (s: string) => process.stderr.write(`${s}\n`);
const started = Date.now();
const loadBefore = loadavg()[0] ?? 0;
const results: RowResult[] = [];
const open = (port: number, rate: number, secs: number) =>
  runOpenLoop({ port, spec: scenario.load, rate, connections, seconds: secs, timeoutMs }, 1);

for (const row of rows) {
  const child = await ServerChild.start(join(ROOT, "bench", row.file), scenario.id as Scenario, { core: 0 });
  if (child === "unsupported") throw new Error(`${row.id} has no ${scenario.id} app`);
  try {
    const closed = (secs: number) =>
      runLoad(tool, { port: child.port, spec: scenario.load, seconds: secs, connections, core: 1 });
    await closed(1); // warm-up
    let validation: Validation | undefined;
    if (values.validate) {
      const w = await closed(maxSeconds);
      const g = await open(child.port, 0, maxSeconds);
      validation = {
        wrkRps: w.rps,
        wrkP50: w.p50Ms,
        wrkP99: w.p99Ms,
        genRps: g.rps,
        genP50: g.latency.p50Ms,
        genP99: g.latency.p99Ms,
        genCpu: g.generatorCpu,
      };
      log(
        `${row.label}: closed loop, ${tool} ${Math.round(w.rps)} req/s p99 ${w.p99Ms.toFixed(2)} ms; ` +
          `open-loop generator ${Math.round(g.rps)} req/s p99 ${g.latency.p99Ms.toFixed(2)} ms (its CPU ${Math.round(g.generatorCpu * 100)}%)`,
      );
    }
    const max = await closed(maxSeconds);
    if (max.badStatus > 0 || max.socketErrors > 0)
      throw new Error(
        `${row.label}: ${max.badStatus} bad statuses, ${max.socketErrors} errors at closed loop`,
      );
    log(`${row.label}: max ${Math.round(max.rps)} req/s (closed loop, ${tool})`);
    const levels: RowResult["levels"] = [];
    for (const level of LEVELS) {
      const r = await open(child.port, Math.round(max.rps * level), seconds);
      levels.push({ level, r });
      log(
        `${row.label}: ${Math.round(level * 100)}% = ${r.rate} req/s offered, ${Math.round(r.rps)} answered; ` +
          `p50 ${r.latency.p50Ms.toFixed(2)} p99 ${r.latency.p99Ms.toFixed(2)} max ${r.latency.maxMs.toFixed(1)} ms; ` +
          `${r.timeouts} timeouts, ${r.socketErrors} errors, ${r.badStatus} bad statuses`,
      );
    }
    results.push({ label: row.label, maxRps: max.rps, maxP99: max.p99Ms, validation, levels });
  } finally {
    await child.stop();
  }
}

// ---- report ----

const ms = (n: number | null) =>
  n === null || !Number.isFinite(n) ? "—" : n < 10 ? n.toFixed(2) : n.toFixed(1);
const int = (n: number) => Math.round(n).toLocaleString("en-US");

/** p99 of the first and the last full second, and whether latency kept growing. */
function growth(r: OpenLoopResult): string {
  const secs = r.perSecond.filter((s) => s !== null && s.count > 0);
  if (secs.length < 2) return "—";
  const first = secs[0]!.p99Ms;
  const last = secs.at(-1)!.p99Ms;
  return `${ms(first)} → ${ms(last)}`;
}

const lines: string[] = [
  "## Latency under a constant offered load (p99 at 50%, 90%, 110% of max)",
  "",
  "`npm run bench:latency` (bench/latency.ts); the full run is",
  "`LATENCY_SECONDS=10 LATENCY_MAX_SECONDS=5 npm run bench:latency -- --write`.",
  `Scenario ${scenario.title} (${scenario.what}). Each server alone on core 0${canPin() ? "" : " (**not pinned**: taskset missing)"}, the load on core 1, rows one after another in one run.`,
  `First each server's max throughput: a closed-loop ${tool} run of ${maxSeconds} s, ${connections} connections. Then ${seconds} s at`,
  "50%, 90% and 110% of that rate with bench/lib/open-loop.ts, a constant-rate generator in the manner of",
  `wrk2 (raw keep-alive sockets, ${connections} connections, one request in flight each, an HdrHistogram-style`,
  "histogram): latency is measured from each request's **intended** send time, so a server that falls behind",
  "is charged for the requests that wait (the coordinated-omission correction). A request sent by the",
  "generator's timer on an idle connection is timed from when it was written; the timer's own lateness is",
  `reported as "timer lag". An answer later than ${timeoutMs} ms after its request was written is a timeout.`,
  "Why our own generator and not wrk2: wrk2 is not in Debian, and this runs wherever `npm ci` does; it is",
  "checked against wrk at closed loop (`--validate`, table below).",
  "",
  `Run: ${new Date(started).toISOString().slice(0, 16)}Z, ${Math.round((Date.now() - started) / 1000)} s; ${machineInfo(loadTool(tool, ROOT)).cpu}; Node ${process.version}.`,
  `Load average ${loadBefore.toFixed(1)} at the start, ${(loadavg()[0] ?? 0).toFixed(1)} at the end (2 or more: other work shared the machine);`,
  "read the numbers as the shape of the curve, not as this server's best.",
  "",
  "| server | max req/s (closed loop) | load | offered req/s | answered req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | p99 first s → last s | timeouts | errors | timer lag p99 ms | generator CPU |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
];
for (const row of results) {
  for (const { level, r } of row.levels) {
    lines.push(
      `| ${row.label} | ${int(row.maxRps)} | ${Math.round(level * 100)}% | ${int(r.rate)} | ${int(r.rps)} | ${ms(r.latency.p50Ms)} | ${ms(r.latency.p90Ms)} | ${ms(r.latency.p99Ms)} | ${ms(r.latency.p999Ms)} | ${ms(r.latency.maxMs)} | ${growth(r)} | ${r.timeouts} | ${r.socketErrors + r.badStatus} | ${ms(r.timerLag.p99Ms)} | ${Math.round(r.generatorCpu * 100)}%${r.generatorCpu > GENERATOR_BOUND ? " (**generator-bound**)" : ""} |`,
    );
  }
}
const over = results.map((row) => ({ row, r: row.levels.find((l) => l.level > 1)?.r }));
lines.push("", "At 110%:");
for (const { row, r } of over) {
  if (r === undefined) continue;
  const backlog = Math.max(0, r.scheduled - r.sent);
  lines.push(
    `- ${row.label}: ${int(r.rps)} req/s answered of ${int(r.rate)} offered; ${int(backlog)} requests (${((backlog / Math.max(1, r.scheduled)) * 100).toFixed(0)}% of the schedule) were still waiting to be sent at the end; p99 per second went ${growth(r)} ms; ${r.timeouts} timeouts, ${r.socketErrors} socket errors${r.firstError === undefined ? "" : ` (first: ${r.firstError})`}, ${r.badStatus} bad statuses.`,
  );
}
lines.push(
  "",
  "Over capacity an open-loop schedule falls further behind every second, so latency measured from the intended",
  "time grows with the run's length (by about 10% of the elapsed time at 110%). A p99 that stays flat at 110%",
  "means the server had more capacity than its closed-loop run showed (on a busy machine the max moves from",
  "one run to the next), or that the generator was the limit (see its CPU).",
);
const v = results.filter((r) => r.validation !== undefined);
if (v.length > 0) {
  lines.push(
    "",
    `Generator check, closed loop, ${connections} connections, ${maxSeconds} s each, same server:`,
    "",
    `| server | ${tool} req/s | generator req/s | ratio | ${tool} p50 / p99 ms | generator p50 / p99 ms | generator CPU |`,
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...v.map((r) => {
      const x = r.validation!;
      return `| ${r.label} | ${int(x.wrkRps)} | ${int(x.genRps)} | ${(x.genRps / x.wrkRps).toFixed(2)}× | ${ms(x.wrkP50)} / ${ms(x.wrkP99)} | ${ms(x.genP50)} / ${ms(x.genP99)} | ${Math.round(x.genCpu * 100)}% |`;
    }),
  );
}
lines.push(
  "",
  "Answers per second of each open-loop run (a 0 is a second with no answer at all):",
  "",
  ...results.flatMap((row) =>
    row.levels.map(
      ({ level, r }) =>
        `- ${row.label}, ${Math.round(level * 100)}%: ${r.perSecond.map((s) => (s === null ? 0 : s.count)).join(", ")}`,
    ),
  ),
);
const md = lines.join("\n");
console.log(`\n${md}\n`);
if (values.write) {
  const docs = join(ROOT, "docs", "benchmarks.md");
  writeFileSync(docs, replaceSection(readFileSync(docs, "utf8"), "latency", md));
  formatMarkdown(docs);
  log(`wrote ${docs} (latency section)`);
}
