// WebSocket bench: Phial's `app.websocket` echo (and the wire's own ServerWebSocket without the framework)
// next to `ws` on node:http (and Bun's own WebSocket server when a `bun` binary runs here), in one run.
//
//   npm run bench:ws [-- --duration 2 --runs 3 --quick --only echo-64,echo-16k,upgrades
//                       --generator raw|ws|raw,ws --frame-per-write --json FILE --markdown --no-bun]
//
// Each server runs in its own process (NODE_ENV=production), started on any core, then pinned to core 0
// with all its threads when `taskset` works; the load generator (bench/ws/load.ts: raw node:net sockets
// and pre-built frames, like wrk for HTTP) runs in this process, pinned to core 1. Rounds alternate
// between the servers, in a rotating order.
//
// Scenarios, chosen so that the server's own cost shows:
// - echo-64: 50 connections, each keeping 16 text messages of 64 bytes in flight. Small messages: the cost
//   per message (parse a frame, hand it to the app, frame the answer, write) with many messages per read.
// - echo-16k: 50 connections, each keeping 4 binary messages of 16 KiB in flight. Bulk: unmasking and
//   copying bytes (16 MB/s of payload each way per 1,000 messages/s).
// - upgrades: 16 loops of connect, handshake (the 101 is checked), close 1000, wait for the server's
//   close frame and TCP end; the HTTP request, the handshake and the closing handshake per connection.
// One message in flight per connection (latency-bound) is not a scenario: every message is then one read
// and one write on each side, so the generator pays per message what a server pays, and the figure is
// round trips through two event loops rather than server cost.
//
// The generator writes the k frames it owes after k echoes in one write, so a server gets several
// messages per read and one that batches its answers per read (Bun, Phial) gains from it; a browser sends
// each message in a write of its own. `--frame-per-write` does that instead (one syscall per message on
// the generator's side too, so fast servers may then be generator-bound).
//
// Per cell: units per second; the server's CPU time (process.cpuUsage, asked over stdin) per unit and as
// a share of its core; and the generator's own CPU time (process.cpuUsage of this process) as a share of
// its core. Above 85% the row is marked "generator-bound": its rate says what the generator managed, not
// what the server can do; the server's CPU µs per unit is still its own cost. Both cores are used (server
// and generator), so a second generator thread or process would only take CPU from the server.
//
// `--generator ws` drives the same scenarios with `ws` clients (the former generator, bench/ws/
// load-wsclient.ts), `--generator raw,ws` both in the same run, to cross-check load.ts: where the server
// is the bottleneck, both must report the same server CPU per unit. Any wrong answer (a refused upgrade,
// a wrong accept key or frame, a closed connection, a stalled loop) stops the run with a message that
// names the server and the scenario, and exit code 1.
//
// Bun: the binary is looked up in $BUN, node_modules/.bin/bun, then PATH (`npm install --no-save bun`
// brings one); without it the row is skipped and the report says so.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as raw from "./load.ts";
import * as wsClient from "./load-wsclient.ts";

const { values } = parseArgs({
  options: {
    duration: { type: "string" },
    runs: { type: "string" },
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    generator: { type: "string", default: "raw" },
    json: { type: "string" },
    markdown: { type: "boolean", default: false },
    "no-bun": { type: "boolean", default: false },
    "frame-per-write": { type: "boolean", default: false },
  },
  strict: true,
});
const DURATION = Number(values.duration ?? (values.quick ? 1 : 2)) * 1000;
const WARMUP = values.quick ? 200 : 1000;
const RUNS = Math.max(1, Number(values.runs ?? (values.quick ? 1 : 3)));
const GENERATOR_BOUND = 0.85;
const GENERATORS = { raw, ws: wsClient };
type GeneratorName = keyof typeof GENERATORS;
const generators = values.generator.split(",").map((g) => g.trim());
for (const g of generators) {
  if (!(g in GENERATORS)) {
    throw new Error(
      `--generator ${g}: use raw (bench/ws/load.ts, the default), ws (ws clients) or raw,ws (both)`,
    );
  }
}
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const ROOT = here("../../");
const PINNED = spawnSync("taskset", ["-c", "0", "true"], { stdio: "ignore" }).status === 0;
const TSX = import.meta.resolve("tsx");

interface Scenario {
  id: string;
  title: string;
  unit: string;
  /** A warm-up is too short to tell a stalled connection from a busy machine: it skips that check. */
  run(port: number, durationMs: number, warmUp: boolean): Promise<raw.LoadResult>;
}

/** The scenarios as driven by one generator (the `ws` one's ids and titles say so). */
function scenarios(gen: GeneratorName): Scenario[] {
  const load = GENERATORS[gen];
  const id = (base: string) => (gen === "raw" ? base : `${base}@${gen}`);
  const title = (base: string) => (gen === "raw" ? base : `${base}, ${gen} clients`);
  const echo = (
    name: string,
    what: string,
    payload: Buffer,
    binary: boolean,
    inFlight: number,
  ): Scenario => ({
    id: id(name),
    title: title(`echo, ${what}, 50 × ${inFlight} in flight`),
    unit: "msg",
    run: (port, durationMs, warmUp) =>
      load.echo({
        port,
        path: "/echo",
        connections: 50,
        inFlight,
        payload,
        binary,
        durationMs,
        idleMs: warmUp ? 0 : undefined,
        framePerWrite: values["frame-per-write"],
      }),
  });
  return [
    echo("echo-64", "64 B text", Buffer.alloc(64, "x"), false, 16),
    echo("echo-16k", "16 KiB binary", randomish(16 * 1024), true, 4),
    {
      id: id("upgrades"),
      title: title("upgrade + close, 16 loops"),
      unit: "upgrade",
      run: (port, durationMs) => load.upgrades({ port, path: "/echo", loops: 16, durationMs }),
    },
  ];
}
const ALL = generators.flatMap((g) => scenarios(g as GeneratorName));
const only = values.only?.split(",").map((s) => s.trim());
const unknown = only?.filter((id) => !ALL.some((s) => s.id.split("@")[0] === id)) ?? [];
if (unknown.length > 0) {
  throw new Error(`--only ${unknown.join(",")}: no such scenario; there are echo-64, echo-16k, upgrades`);
}
const SCENARIOS = only === undefined ? ALL : ALL.filter((s) => only.includes(s.id.split("@")[0]!));

/** Bytes that are not all alike (a server can't get away with a shortcut), the same in every run. */
function randomish(n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = 2463534242;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

function findBun(): string | undefined {
  if (values["no-bun"]) return undefined;
  const candidates = [process.env.BUN, `${ROOT}node_modules/.bin/bun`];
  for (const c of candidates) if (c !== undefined && c !== "" && existsSync(c)) return c;
  const r = spawnSync("bun", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? "bun" : undefined;
}

/** One measured cell: a scenario against a server. */
interface Sample {
  rate: number;
  serverUs: number;
  serverShare: number;
  generatorShare: number;
  generatorUs: number;
}

interface Row {
  name: string;
  argv: string[];
  proc?: ChildProcess;
  port?: number;
  lines: string[];
  wake?: () => void;
  samples: Map<string, Sample[]>;
}

const row = (name: string, argv: string[]): Row => ({ name, argv, lines: [], samples: new Map() });
const node = (file: string) => [process.execPath, "--conditions=phial-source", "--import", TSX, here(file)];
const BASE = "ws on node:http";
const rows: Row[] = [
  row("phial app.websocket", node("./server-phial.ts")),
  row("phial/http ServerWebSocket (the wire alone)", node("./server-wire.ts")),
  row(BASE, node("./server-ws.ts")),
];
const notes: string[] = [];
const bun = findBun();
if (bun !== undefined) {
  const v = spawnSync(bun, ["--version"], { encoding: "utf8" });
  if (v.status === 0) rows.push(row(`Bun ${v.stdout.trim()} Bun.serve`, [bun, here("./server-bun.ts")]));
  else notes.push(`Bun: the binary ${bun} does not run here (${(v.stderr ?? "").trim().split("\n")[0]}).`);
} else {
  notes.push("Bun: no `bun` binary found ($BUN, node_modules/.bin, PATH): its row was not measured.");
}

async function nextLine(r: Row): Promise<string> {
  while (r.lines.length === 0) {
    if (r.proc?.exitCode !== null) throw new Error(`the ${r.name} server exited (code ${r.proc?.exitCode})`);
    await new Promise<void>((resolve) => {
      r.wake = resolve;
    });
  }
  return r.lines.shift()!;
}

/** Starts a server on any core (loading its TypeScript is most of its startup), then pins it to core 0. */
async function start(r: Row): Promise<void> {
  const [cmd, ...args] = r.argv;
  const p = spawn(cmd!, args, {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, NODE_ENV: "production" },
  });
  r.proc = p;
  let buf = "";
  p.stdout!.setEncoding("utf8").on("data", (d: string) => {
    buf += d;
    let i = buf.indexOf("\n");
    while (i !== -1) {
      r.lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      i = buf.indexOf("\n");
    }
    r.wake?.();
  });
  p.once("exit", () => r.wake?.());
  r.port = Number(await nextLine(r));
  if (PINNED && spawnSync("taskset", ["-a", "-pc", "0", String(p.pid)], { stdio: "ignore" }).status !== 0) {
    throw new Error(`taskset could not pin the ${r.name} server (pid ${p.pid}) to core 0`);
  }
}

async function cpu(r: Row): Promise<number> {
  r.proc!.stdin!.write("\n");
  return Number(await nextLine(r));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs a scenario against a row; a failure says which. */
async function load(r: Row, s: Scenario, durationMs: number, warmUp: boolean): Promise<raw.LoadResult> {
  try {
    return await s.run(r.port!, durationMs, warmUp);
  } catch (e) {
    throw new Error(`${r.name}, ${s.title}: ${(e as Error).message}`);
  }
}

/** Runs a scenario against a row, with the server's and the generator's CPU time around it. */
async function measure(r: Row, s: Scenario, durationMs: number): Promise<Sample> {
  const t0 = performance.now();
  const c0 = await cpu(r);
  const g0 = process.cpuUsage();
  const g1 = performance.now();
  const result = await load(r, s, durationMs, false);
  const g = process.cpuUsage(g0);
  const generatorUs = g.user + g.system;
  const generatorShare = generatorUs / ((performance.now() - g1) * 1000);
  await sleep(100); // closes still in flight are the server's work too
  const c1 = await cpu(r);
  if (result.count === 0) throw new Error(`${r.name}, ${s.title}: nothing completed in ${durationMs} ms`);
  return {
    rate: result.count / result.seconds,
    serverUs: (c1 - c0) / result.count,
    serverShare: (c1 - c0) / ((performance.now() - t0) * 1000),
    generatorShare,
    generatorUs: generatorUs / result.count,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

if (PINNED) spawnSync("taskset", ["-pc", "1", String(process.pid)], { stdio: "ignore" });
let failed: Error | undefined;
// The servers start together (each one's startup is mostly loading its TypeScript), then wait their turn.
await Promise.all(
  rows.map((r) =>
    start(r).catch((e: Error) => {
      notes.push(`${r.name}: did not start (${e.message}); not measured.`);
      r.proc?.kill();
    }),
  ),
);
const live = rows.filter((r) => r.port !== undefined && Number.isFinite(r.port));
try {
  for (const r of live) for (const s of SCENARIOS) await load(r, s, WARMUP, true); // JIT, socket buffers
  for (let i = 0; i < RUNS; i++) {
    const order = [...live.slice(i % live.length), ...live.slice(0, i % live.length)];
    for (const s of SCENARIOS) {
      for (const r of order) {
        const sample = await measure(r, s, DURATION);
        const list = r.samples.get(s.id) ?? [];
        list.push(sample);
        r.samples.set(s.id, list);
      }
    }
  }
} catch (e) {
  failed = e as Error;
} finally {
  for (const r of rows) r.proc?.stdin?.end();
}
if (failed !== undefined) {
  console.error(`bench:ws failed: ${failed.message}`);
  process.exit(1);
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : "—");
const pct = (n: number) => (Number.isFinite(n) ? `${Math.round(n * 100)}%` : "—");
const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : "—");
const med = (r: Row, id: string, k: keyof Sample) => median((r.samples.get(id) ?? []).map((x) => x[k]));
const generator = generators
  .map((g) =>
    g === "ws"
      ? "`ws` clients (--generator ws)"
      : `raw sockets with pre-built frames (load.ts), ${values["frame-per-write"] ? "one frame per write" : "the k frames owed in one write"}`,
  )
  .join(" and ");
const lines: string[] = [
  `WebSocket: ${RUNS} run(s) of ${DURATION / 1000} s per cell, servers ${PINNED ? "pinned to core 0, the generator to core 1" : "unpinned"}, ` +
    `load generator: ${generator}, load average ${loadavg()[0]!.toFixed(1)}. Ratios are against \`ws\` on node:http: ` +
    "for rates higher is better, for CPU they are ws's µs over the row's (higher is better too). " +
    "Core columns: CPU time over wall time of the server's and of the generator's process (and the generator's " +
    "CPU µs per unit: 1,000,000 over it is the most it can drive); " +
    `a generator over ${GENERATOR_BOUND * 100}% of its core is the limit of that row's rate ("generator-bound").`,
  "",
  "| scenario | server | per s | ratio | server CPU µs/unit | ratio | server core | generator core (µs/unit) |",
  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
];
const bound: string[] = [];
const unsaturated: string[] = [];
const base = live.find((r) => r.name === BASE);
for (const s of SCENARIOS) {
  for (const r of live) {
    const b = base ?? r;
    const gen = med(r, s.id, "generatorShare");
    if (gen > GENERATOR_BOUND) bound.push(`${s.id} / ${r.name}`);
    else if (med(r, s.id, "serverShare") < GENERATOR_BOUND) unsaturated.push(`${s.id} / ${r.name}`);
    lines.push(
      `| ${s.title} | ${r.name} | ${fmt(med(r, s.id, "rate"))} | ${ratio(med(r, s.id, "rate"), med(b, s.id, "rate"))} ` +
        `| ${fmt(med(r, s.id, "serverUs"), 2)} per ${s.unit} | ${ratio(med(b, s.id, "serverUs"), med(r, s.id, "serverUs"))} ` +
        `| ${pct(med(r, s.id, "serverShare"))} | ${pct(gen)} (${fmt(med(r, s.id, "generatorUs"), 2)})` +
        `${gen > GENERATOR_BOUND ? " generator-bound" : ""} |`,
    );
  }
}
if (bound.length > 0) {
  notes.push(
    `Generator-bound (the load generator used over ${GENERATOR_BOUND * 100}% of its core; the rate is a floor for ` +
      `the server, its CPU µs per unit still holds): ${bound.join("; ")}.`,
  );
}
if (unsaturated.length > 0) {
  notes.push(
    `Neither the server nor the generator used ${GENERATOR_BOUND * 100}% of its core (other work on the machine, ` +
      `or round trips, held the rate back; the CPU µs per unit are the figures to compare): ${unsaturated.join("; ")}.`,
  );
}
for (const n of notes) lines.push("", n);
console.log(lines.join("\n"));
if (!values.markdown) {
  const out = Object.fromEntries(live.map((r) => [r.name, Object.fromEntries(r.samples)]));
  console.log(`\nall runs: ${JSON.stringify(out)}`);
  if (values.json !== undefined) await writeFile(values.json, `${JSON.stringify(out, null, 2)}\n`);
}
