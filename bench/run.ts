// `npm run bench [-- options]`: server, client and memory benchmarks of phial against its peers.
// Prints the tables; a full run also writes docs/benchmarks.md and docs/benchmarks.svg.
// See bench/README.md for the method and for adding rows.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { ClientResult } from "./clients/driver.ts";
import { formatMarkdown, markedSections } from "./lib/doc-section.ts";
import { type LoadTool, pickTool, runLoad } from "./lib/load.ts";
import {
  coreBusyTicks,
  loadAverage,
  loadTool as loadToolName,
  machineBusy,
  machineInfo,
  packageVersion,
  ticksPerSecond,
  waitCalm,
} from "./lib/machine.ts";
import { measureMemory, openFileLimit } from "./lib/memory.ts";
import { canPin, nodeArgv, pinned, run, ServerChild } from "./lib/proc.ts";
import {
  type ClientCell,
  type MemoryCell,
  markdownReport,
  type Results,
  type ServerCell,
  type Settings,
  svgChart,
  terminalReport,
} from "./lib/report.ts";
import { CEILING, CLIENT_ROWS, MEMORY_ROWS, SERVER_ROWS, type ServerRow } from "./lib/rows.ts";
import { checkRow, type ScenarioDef, SERVER_SCENARIOS } from "./lib/scenarios.ts";
import { ensureStaticFile } from "./servers/fixtures.ts";

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const SERVER_CORE = 0;
const LOAD_CORE = 1;
/** A run is measured again when other processes used more than this share of the server's core. */
const NOISE_LIMIT = 0.1;
const MAX_RETRIES = 2;
/** Re-runs allowed over the whole run, so that a machine that stays busy can't triple its length. */
let retryBudget = 40;
/** Runs started without the cores having been calm first (waited 20 s in vain). */
let calmMissed = 0;

const USAGE = `usage: npm run bench -- [options]
  --quick              one 1-s run of everything, no warm-up, no re-runs (≈ 2 min); writes nothing unless --write
  --runs N             interleaved runs per cell (default 3; quick 1)
  --duration S         seconds per measured run (default 2; quick 1)
  --warmup S           seconds of warm-up per server (default 1; 0 for none)
  --connections N      load connections (default 50)
  --scenarios a,b      only these server scenarios (${SERVER_SCENARIOS.map((s) => s.id).join(", ")})
  --rows a,b           only these server rows (${SERVER_ROWS.map((r) => r.id).join(", ")})
  --no-server | --no-client | --no-memory   skip a part
  --no-side            skip the side benches (bench/ws: WebSocket; bench/compress: compressed pages)
  --memory-connections N   idle connections for the memory test (default 5000)
  --load wrk|autocannon    force the load generator (default: wrk when installed)
  --write | --no-write     write docs/benchmarks.md (default: only after a full, unfiltered run)
  --wait-quiet MIN     first wait up to MIN minutes for the machine to be idle (< 10% busy for 6 s)
  --json FILE          also write the raw results as JSON
  --render FILE        measure nothing: print and write the report from a --json file
  --out DIR            where to write benchmarks.md and benchmarks.svg (default docs/)`;

function parseCli() {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      runs: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      connections: { type: "string" },
      scenarios: { type: "string" },
      rows: { type: "string" },
      "no-server": { type: "boolean", default: false },
      "no-client": { type: "boolean", default: false },
      "no-memory": { type: "boolean", default: false },
      "no-side": { type: "boolean", default: false },
      "memory-connections": { type: "string" },
      load: { type: "string" },
      write: { type: "boolean" },
      "no-write": { type: "boolean", default: false },
      json: { type: "string" },
      render: { type: "string" },
      "wait-quiet": { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const num = (v: string | undefined, d: number, name: string): number => {
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got "${v}"`);
    return n;
  };
  const list = (v: string | undefined, known: readonly string[], name: string): string[] | undefined => {
    if (v === undefined) return undefined;
    const items = v
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    for (const i of items) {
      if (!known.includes(i)) throw new Error(`--${name}: unknown "${i}"; known: ${known.join(", ")}`);
    }
    return items;
  };
  const quick = values.quick;
  const scenarios = list(
    values.scenarios,
    SERVER_SCENARIOS.map((s) => s.id),
    "scenarios",
  );
  const rows = list(
    values.rows,
    SERVER_ROWS.map((r) => r.id),
    "rows",
  );
  const filtered =
    scenarios !== undefined ||
    rows !== undefined ||
    values["no-server"] ||
    values["no-client"] ||
    values["no-memory"] ||
    values["no-side"] ||
    values.runs !== undefined ||
    values.duration !== undefined;
  return {
    quick,
    runs: Math.max(1, Math.round(num(values.runs, quick ? 1 : 3, "runs"))),
    seconds: Math.max(1, Math.round(num(values.duration, quick ? 1 : 2, "duration"))),
    warmup: Math.round(num(values.warmup, quick ? 0 : 1, "warmup")),
    connections: Math.max(1, Math.round(num(values.connections, 50, "connections"))),
    memoryConnections: Math.max(
      10,
      Math.round(num(values["memory-connections"], 5000, "memory-connections")),
    ),
    scenarios,
    rows,
    server: !values["no-server"],
    client: !values["no-client"],
    memory: !values["no-memory"],
    // The side benches run in a full run, or with --quick; not when only some scenarios or rows are asked.
    side: !values["no-side"] && scenarios === undefined && rows === undefined,
    load: values.load,
    write: values["no-write"] ? false : (values.write ?? (!quick && !filtered)),
    json: values.json,
    render: values.render,
    waitQuiet: num(values["wait-quiet"], 0, "wait-quiet"),
    out: values.out ?? join(ROOT, "docs"),
  };
}

type Cli = ReturnType<typeof parseCli>;

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

function rotate<T>(xs: readonly T[], k: number): T[] {
  if (xs.length === 0) return [];
  const n = k % xs.length;
  return [...xs.slice(n), ...xs.slice(0, n)];
}

function present(file: string): boolean {
  return existsSync(join(BENCH, file));
}

// ---- server scenarios ---------------------------------------------------------------------------

interface Live {
  row: ServerRow;
  child: ServerChild;
}

async function measureOnce(
  tool: LoadTool,
  cli: Cli,
  def: ScenarioDef,
  live: Live,
  cell: ServerCell,
): Promise<void> {
  const hz = ticksPerSecond();
  for (let attempt = 0; ; attempt++) {
    // Start in a lull: other people's bursts (test suites) come and go within seconds.
    if (!cli.quick && !(await waitCalm([SERVER_CORE, LOAD_CORE], 0.05, 400, 20_000))) calmMissed++;
    const busy0 = coreBusyTicks(SERVER_CORE);
    const t0 = performance.now();
    live.child.cpuStart();
    const load = await runLoad(tool, {
      port: live.child.port,
      spec: def.load,
      seconds: cli.seconds,
      connections: cli.connections,
      core: LOAD_CORE,
    });
    const cpu = await live.child.cpuStop();
    const wall = (performance.now() - t0) / 1000;
    const busy1 = coreBusyTicks(SERVER_CORE);
    let foreign = 0;
    if (busy0 !== undefined && busy1 !== undefined) {
      foreign = Math.max(0, (busy1 - busy0) / hz - cpu.micros / 1e6) / wall;
    }
    if (load.requests === 0) throw new Error("no responses at all");
    const bad = load.badStatus + load.socketErrors;
    if (bad > load.requests * 0.001) {
      throw new Error(
        `${load.badStatus} answers with a status other than ${def.load.status} and ${load.socketErrors} socket errors in ${load.requests}`,
      );
    }
    if (foreign > NOISE_LIMIT && attempt < (cli.quick ? 0 : MAX_RETRIES) && retryBudget > 0) {
      retryBudget--;
      cell.retries++;
      log(
        `    ${live.row.id}: core ${SERVER_CORE} was ${percent(foreign)} busy with other work; measuring again`,
      );
      continue;
    }
    cell.rps.push(load.rps);
    cell.p99Ms.push(load.p99Ms);
    cell.cpuUs.push(cpu.micros / load.requests);
    cell.foreign.push(foreign);
    log(
      `    ${live.row.id.padEnd(16)} ${Math.round(load.rps).toString().padStart(8)} req/s  p99 ${load.p99Ms.toFixed(2)} ms  ` +
        `${(cpu.micros / load.requests).toFixed(1)} µs/req${foreign > 0.02 ? `  (other work on core: ${percent(foreign)})` : ""}`,
    );
    return;
  }
}

function percent(x: number): string {
  return `${Math.round(x * 100)}%`;
}

async function runScenario(
  tool: LoadTool,
  cli: Cli,
  def: ScenarioDef,
  rows: readonly ServerRow[],
): Promise<Record<string, ServerCell>> {
  const cells: Record<string, ServerCell> = {};
  const live: Live[] = [];
  log(`\n${def.title}: starting ${rows.length} servers`);
  try {
    for (const row of rows) {
      const cell: ServerCell = { rps: [], p99Ms: [], cpuUs: [], foreign: [], retries: 0 };
      cells[row.id] = cell;
      try {
        const child = await ServerChild.start(join(BENCH, row.file), def.id, { core: SERVER_CORE });
        if (child === "unsupported") {
          cell.unsupported = true;
          continue;
        }
        const problem = await checkRow(child.port, def, row.id === CEILING);
        if (problem !== undefined) {
          cell.problem = `wrong answer: ${problem}`;
          log(`    ${row.id}: ${cell.problem}`);
          await child.stop();
          continue;
        }
        live.push({ row, child });
      } catch (e) {
        cell.problem = `failed to start: ${(e as Error).message.split("\n")[0]}`;
        log(`    ${row.id}: ${cell.problem}`);
      }
    }
    if (cli.warmup > 0) {
      for (const l of live) {
        try {
          await runLoad(tool, {
            port: l.child.port,
            spec: def.load,
            seconds: cli.warmup,
            connections: cli.connections,
            core: LOAD_CORE,
          });
        } catch (e) {
          cells[l.row.id]!.problem = `warm-up failed: ${(e as Error).message.split("\n")[0]}`;
        }
      }
    }
    for (let runNo = 0; runNo < cli.runs; runNo++) {
      log(`  run ${runNo + 1}/${cli.runs}`);
      for (const l of rotate(live, runNo)) {
        const cell = cells[l.row.id]!;
        if (cell.problem !== undefined) continue;
        try {
          await measureOnce(tool, cli, def, l, cell);
        } catch (e) {
          cell.problem = (e as Error).message.split("\n")[0];
          log(`    ${l.row.id}: ${cell.problem}`);
        }
      }
    }
  } finally {
    await Promise.all(live.map((l) => l.child.stop()));
  }
  return cells;
}

// ---- clients ------------------------------------------------------------------------------------

async function runClients(
  cli: Cli,
): Promise<{ cells: Record<string, ClientCell>; rows: typeof CLIENT_ROWS }> {
  const rows = CLIENT_ROWS.filter((r) => present(r.file));
  const cells: Record<string, ClientCell> = {};
  if (rows.length === 0) return { cells, rows };
  log("\nclients: starting the canned server");
  const server = await ServerChild.start(join(BENCH, "servers/net-canned.ts"), "hello", {
    core: SERVER_CORE,
  });
  if (server === "unsupported") throw new Error("net-canned has no hello app");
  const origin = `http://127.0.0.1:${server.port}`;
  try {
    for (const r of rows) cells[r.id] = { rps: [], p99Ms: [], cpuUs: [] };
    for (let runNo = 0; runNo < cli.runs; runNo++) {
      log(`  run ${runNo + 1}/${cli.runs}`);
      for (const row of rotate(rows, runNo)) {
        const cell = cells[row.id]!;
        if (cell.problem !== undefined) continue;
        const [cmd, args] = pinned(LOAD_CORE, [
          ...nodeArgv(join(BENCH, "clients/driver.ts")),
          join(BENCH, row.file),
          origin,
          String(cli.seconds),
          String(runNo === 0 ? Math.max(1, cli.warmup) : 0.5),
          "50",
        ]);
        try {
          const out = await run(cmd, args, (cli.seconds + cli.warmup + 30) * 1000);
          const line = out.split("\n").find((l) => l.startsWith("BENCH_JSON "));
          if (line === undefined) throw new Error(`no result from the driver:\n${out}`);
          const res = JSON.parse(line.slice("BENCH_JSON ".length)) as ClientResult;
          if (res.errors > res.requests * 0.001)
            throw new Error(`${res.errors} failed requests in ${res.requests}`);
          cell.rps.push(res.rps);
          cell.p99Ms.push(res.p99Ms);
          cell.cpuUs.push(res.cpuUs);
          log(
            `    ${row.id.padEnd(16)} ${Math.round(res.rps).toString().padStart(8)} req/s  p99 ${res.p99Ms.toFixed(2)} ms  ${res.cpuUs.toFixed(1)} µs/req`,
          );
        } catch (e) {
          cell.problem = (e as Error).message.split("\n")[0];
          log(`    ${row.id}: ${cell.problem}`);
        }
      }
    }
  } finally {
    await server.stop();
  }
  return { cells, rows };
}

// ---- memory -------------------------------------------------------------------------------------

async function runMemory(
  cli: Cli,
  notes: string[],
): Promise<{ cells: Record<string, MemoryCell>; rows: ServerRow[] }> {
  const rows = SERVER_ROWS.filter((r) => MEMORY_ROWS.includes(r.id) && present(r.file));
  const cells: Record<string, MemoryCell> = {};
  let n = cli.memoryConnections;
  const limit = openFileLimit();
  if (n > limit - 200) {
    n = Math.max(10, limit - 200);
    notes.push(
      `The open-file limit (ulimit -n = ${limit}) allows ${n} idle connections, not ${cli.memoryConnections}; raise it with \`ulimit -n\` to test more.`,
    );
  }
  log(`\nmemory: ${n} idle keep-alive connections`);
  const runs = Math.min(cli.runs, 3);
  for (const r of rows) cells[r.id] = { rssPerConn: [], heapPerConn: [], youngPerConn: [], connections: n };
  for (let runNo = 0; runNo < runs; runNo++) {
    for (const row of rotate(rows, runNo)) {
      const cell = cells[row.id]!;
      if (cell.problem !== undefined) continue;
      try {
        const m = await measureMemory(join(BENCH, row.file), n, SERVER_CORE);
        cell.rssPerConn.push(m.rssPerConn);
        cell.heapPerConn.push(m.heapPerConn);
        cell.youngPerConn?.push(m.youngPerConn);
        log(
          `    ${row.id.padEnd(16)} RSS ${(m.rssPerConn / 1024).toFixed(2)} KiB/conn (young gen ${(m.youngPerConn / 1024).toFixed(2)})  heap ${(m.heapPerConn / 1024).toFixed(2)} KiB/conn`,
        );
      } catch (e) {
        cell.problem = (e as Error).message.split("\n")[0];
        log(`    ${row.id}: ${cell.problem}`);
      }
    }
  }
  return { cells, rows };
}

// ---- main ---------------------------------------------------------------------------------------

function versions(tool: string): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  const git = spawnSync("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"], { encoding: "utf8" });
  const dirty = spawnSync("git", ["-C", ROOT, "status", "--porcelain", "--", "src"], { encoding: "utf8" });
  const commit = (git.stdout ?? "").trim();
  const v: Record<string, string> = {
    phial: `${pkg.version}${commit !== "" ? ` (${commit}${(dirty.stdout ?? "").trim() !== "" ? ", src modified" : ""})` : ""}`,
    node: process.version,
  };
  for (const name of [
    "fastify",
    "@fastify/static",
    "express",
    "hono",
    "@hono/node-server",
    "koa",
    "@koa/router",
    "koa-static",
    "undici",
    "nunjucks",
    "autocannon",
  ]) {
    v[name] = packageVersion(ROOT, name);
  }
  v["load generator"] = tool;
  return v;
}

function publish(cli: Cli, results: Results): void {
  console.log(terminalReport(results));
  if (cli.json !== undefined) writeFileSync(cli.json, `${JSON.stringify(results, null, 2)}\n`);
  if (cli.write) {
    mkdirSync(cli.out, { recursive: true });
    writeFileSync(join(cli.out, "benchmarks.svg"), svgChart(results));
    // Keep the sections that bench:soak and bench:latency wrote.
    const mdPath = join(cli.out, "benchmarks.md");
    const kept = existsSync(mdPath) ? markedSections(readFileSync(mdPath, "utf8")) : [];
    const md = markdownReport(results, "benchmarks.svg");
    writeFileSync(mdPath, kept.length === 0 ? md : `${md.trimEnd()}\n\n${kept.join("\n\n")}\n`);
    formatMarkdown(mdPath); // the side benches' tables come as their scripts print them
    log(`\nwrote ${join(cli.out, "benchmarks.md")} and benchmarks.svg`);
  } else {
    log("\n(docs not written: pass --write to write docs/benchmarks.md from this run)");
  }
}

/** The side benches, each its own script that prints a markdown table with `--markdown`. */
const SIDE_BENCHES = [
  { title: "WebSocket echo and upgrades (npm run bench:ws)", file: "ws/run.ts" },
  { title: "Compressed 64 KiB page (npm run bench:compress)", file: "compress/run.ts" },
];

function runSideBenches(cli: Cli): { title: string; markdown: string }[] {
  const out: { title: string; markdown: string }[] = [];
  for (const b of SIDE_BENCHES) {
    if (!present(b.file)) continue;
    log(`\n${b.title}`);
    const r = spawnSync(
      process.execPath,
      [
        "--conditions=phial-source",
        "--import",
        "tsx",
        join(BENCH, b.file),
        "--markdown",
        "--runs",
        String(cli.runs),
        "--duration",
        String(cli.seconds),
      ],
      { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 15 * 60_000 },
    );
    const md = (r.stdout ?? "").trim();
    if (r.status !== 0 || md === "") {
      log(`  failed (exit ${r.status ?? r.signal})`);
      out.push({
        title: b.title,
        markdown: `Not measured: the script failed (exit ${r.status ?? r.signal}).`,
      });
      continue;
    }
    log(md);
    out.push({ title: b.title, markdown: md });
  }
  return out;
}

/** Waits until the machine has been under 10% busy for three 2-s samples in a row, or `minutes` pass. */
async function waitQuiet(minutes: number): Promise<void> {
  const until = performance.now() + minutes * 60_000;
  let calm = 0;
  while (performance.now() < until) {
    const busy = await machineBusy(2000);
    if (Number.isNaN(busy)) return;
    calm = busy < 0.1 ? calm + 1 : 0;
    if (calm >= 3) {
      log("the machine is quiet: starting");
      return;
    }
    log(`waiting for a quiet machine: ${percent(busy)} busy`);
  }
  log(`the machine stayed busy for ${minutes} min: starting anyway`);
}

async function main(): Promise<void> {
  const cli = parseCli();
  if (cli.render !== undefined) {
    publish(
      { ...cli, write: cli.write || cli.out !== join(ROOT, "docs") },
      JSON.parse(readFileSync(cli.render, "utf8")) as Results,
    );
    return;
  }
  if (cli.waitQuiet > 0) await waitQuiet(cli.waitQuiet);
  const started = performance.now();
  const tool = pickTool(cli.load);
  const pin = canPin();
  if (pin) {
    // The runner itself stays off the server's core.
    spawnSync("taskset", ["-pc", String(LOAD_CORE), String(process.pid)], { stdio: "ignore" });
  }
  const notes: string[] = [];
  if (tool === "autocannon") {
    notes.push("wrk was not installed: autocannon (Node) generated the load; it saturates sooner than wrk.");
  }
  ensureStaticFile();
  const settings: Settings = {
    quick: cli.quick,
    runs: cli.runs,
    seconds: cli.seconds,
    warmup: cli.warmup,
    connections: cli.connections,
    clientInflight: 50,
    memoryConnections: cli.memoryConnections,
    pinned: pin,
  };
  const toolName = loadToolName(tool, ROOT);
  const loadBefore = loadAverage();
  log(
    `phial bench: ${toolName}, ${cli.runs} run(s) × ${cli.seconds} s, load average ${loadBefore.toFixed(2)}`,
  );
  const scenarios = SERVER_SCENARIOS.filter(
    (s) => cli.scenarios === undefined || cli.scenarios.includes(s.id),
  );
  const wanted = SERVER_ROWS.filter((r) => cli.rows === undefined || cli.rows.includes(r.id));
  const serverRows = wanted.filter((r) => present(r.file));
  const missingRows = [
    ...wanted.filter((r) => !present(r.file)).map((r) => r.label),
    ...(cli.client ? CLIENT_ROWS.filter((r) => !present(r.file)).map((r) => r.label) : []),
  ];
  const server: Results["server"] = {};
  if (cli.server) {
    for (const def of scenarios) server[def.id] = await runScenario(tool, cli, def, serverRows);
  }
  const client = cli.client ? await runClients(cli) : { cells: {}, rows: [] };
  const memory = cli.memory ? await runMemory(cli, notes) : { cells: {}, rows: [] };
  const extras = cli.side ? runSideBenches(cli) : [];
  let retries = 0;
  let worst = 0;
  for (const byRow of Object.values(server)) {
    for (const c of Object.values(byRow)) {
      retries += c.retries;
      for (const f of c.foreign) worst = Math.max(worst, f);
    }
  }
  if (calmMissed > 0)
    notes.push(`${calmMissed} run(s) started without a calm moment on the cores (20 s wait).`);
  notes.push(
    `Runs measured again because other processes used over ${percent(NOISE_LIMIT)} of the server's core: ${retries}; ` +
      `the busiest kept run had ${percent(worst)} of that core used by other work.`,
  );
  const results: Results = {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    elapsedS: (performance.now() - started) / 1000,
    machine: machineInfo(toolName),
    versions: versions(toolName),
    settings,
    loadBefore,
    loadAfter: loadAverage(),
    notes,
    scenarios: cli.server ? scenarios : [],
    serverRows: cli.server ? serverRows : [],
    missingRows,
    server,
    clientRows: client.rows.slice(),
    client: client.cells,
    memoryRows: memory.rows,
    memory: memory.cells,
    extras,
  };
  publish(cli, results);
  log(`done in ${Math.round(results.elapsedS)} s`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
