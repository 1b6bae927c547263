// WebSocket bench: Phial's `app.websocket` echo next to `ws` on node:http (and Bun's own WebSocket server
// when a `bun` binary runs here), in the same run.
//
//   npm run bench:ws [-- --duration 2 --runs 3 --quick --json FILE --markdown]
//
// Each server runs in its own process, pinned to core 0 when `taskset` works; the load comes from this
// process (core 1) with `ws` clients. Rounds alternate between the servers (rotating order). Two measures:
// - echo: 50 connections, each keeping 16 text messages of 64 bytes in flight; messages echoed per second;
// - upgrades: 16 loops that each open a connection (HTTP upgrade + handshake), wait for "open", close it
//   and start again; connections per second.
// For each, the server's own CPU time (process.cpuUsage, asked over stdin) per message or per upgrade.
// The load generator is one Node process: for upgrades it is the bottleneck (a `ws` client costs more
// per handshake than a server does), so the per-second figures of fast servers converge; the CPU µs per
// upgrade are what tell the servers apart. Read the ratios; the machine may be shared.
//
// Bun: the binary is looked up in $BUN, node_modules/.bin/bun, then PATH (`npm install --no-save bun`
// brings one); without it the row is skipped and the report says so.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { WebSocket } from "ws";

const { values } = parseArgs({
  options: {
    duration: { type: "string" },
    runs: { type: "string" },
    quick: { type: "boolean", default: false },
    json: { type: "string" },
    markdown: { type: "boolean", default: false },
    "no-bun": { type: "boolean", default: false },
  },
  strict: true,
});
const DURATION = Number(values.duration ?? (values.quick ? 1 : 2)) * 1000;
const RUNS = Math.max(1, Number(values.runs ?? (values.quick ? 1 : 3)));
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const ROOT = here("../../");
const PINNED = spawnSync("taskset", ["-c", "0", "true"], { stdio: "ignore" }).status === 0;
const TSX = import.meta.resolve("tsx");

function findBun(): string | undefined {
  if (values["no-bun"]) return undefined;
  const candidates = [process.env.BUN, `${ROOT}node_modules/.bin/bun`];
  for (const c of candidates) if (c !== undefined && c !== "" && existsSync(c)) return c;
  const r = spawnSync("bun", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? "bun" : undefined;
}

interface Row {
  name: string;
  argv: string[];
  proc?: ChildProcess;
  port?: number;
  lines: string[];
  wake?: () => void;
  echo: number[];
  echoCpu: number[];
  up: number[];
  upCpu: number[];
}

const row = (name: string, argv: string[]): Row => ({
  name,
  argv,
  lines: [],
  echo: [],
  echoCpu: [],
  up: [],
  upCpu: [],
});
const node = (file: string) => [process.execPath, "--conditions=phial-source", "--import", TSX, here(file)];
const rows: Row[] = [
  row("phial app.websocket", node("./server-phial.ts")),
  row("ws on node:http", node("./server-ws.ts")),
];
const notes: string[] = [];
const bun = findBun();
if (bun !== undefined) {
  const v = spawnSync(bun, ["--version"], { encoding: "utf8" });
  if (v.status === 0)
    rows.push(row(`Bun ${v.stdout.trim()} Bun.serve websocket`, [bun, here("./server-bun.ts")]));
  else notes.push(`Bun: the binary ${bun} does not run here (${(v.stderr ?? "").trim().split("\n")[0]}).`);
} else {
  notes.push("Bun: no `bun` binary found ($BUN, node_modules/.bin, PATH): its row was not measured.");
}

async function nextLine(r: Row): Promise<string> {
  while (r.lines.length === 0) {
    if (r.proc?.exitCode !== null) throw new Error(`${r.name} exited`);
    await new Promise<void>((resolve) => {
      r.wake = resolve;
    });
  }
  return r.lines.shift()!;
}

async function start(r: Row): Promise<void> {
  const [cmd, ...args] = PINNED ? ["taskset", "-c", "0", ...r.argv] : r.argv;
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
}

async function cpu(r: Row): Promise<number> {
  r.proc!.stdin!.write("\n");
  return Number(await nextLine(r));
}

async function echo(port: number): Promise<number> {
  const conns = 50;
  const window = 16;
  const msg = "x".repeat(64);
  let count = 0;
  let stop = false;
  const sockets = await Promise.all(
    Array.from({ length: conns }, () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`);
      return new Promise<WebSocket>((r, j) => {
        ws.once("open", () => r(ws));
        ws.on("error", j); // after open: terminate() at the end reports nothing worth failing for
      });
    }),
  );
  const t0 = performance.now();
  for (const ws of sockets) {
    ws.on("message", () => {
      count++;
      if (!stop) ws.send(msg);
    });
    for (let i = 0; i < window; i++) ws.send(msg);
  }
  await new Promise((r) => setTimeout(r, DURATION));
  stop = true;
  const n = count;
  const secs = (performance.now() - t0) / 1000;
  for (const ws of sockets) ws.terminate();
  return n / secs;
}

async function upgrades(port: number): Promise<number> {
  let count = 0;
  const end = performance.now() + DURATION;
  const t0 = performance.now();
  const loop = async () => {
    while (performance.now() < end) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`);
      await new Promise<void>((r, j) => {
        ws.once("open", () => r());
        ws.on("error", j);
      });
      count++;
      ws.close();
      await new Promise((r) => ws.once("close", r));
    }
  };
  await Promise.all(Array.from({ length: 16 }, loop));
  return count / ((performance.now() - t0) / 1000);
}

/** Runs `measure` against a row; returns [per second, server CPU µs per unit]. */
async function measured(r: Row, measure: (port: number) => Promise<number>): Promise<[number, number]> {
  const c0 = await cpu(r);
  const t0 = performance.now();
  const rate = await measure(r.port!);
  const secs = (performance.now() - t0) / 1000;
  await new Promise((res) => setTimeout(res, 100)); // closes still in flight are the server's work too
  const c1 = await cpu(r);
  return [rate, (c1 - c0) / (rate * secs)];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

if (PINNED) spawnSync("taskset", ["-pc", "1", String(process.pid)], { stdio: "ignore" });
for (const r of rows) {
  try {
    await start(r);
  } catch (e) {
    notes.push(`${r.name}: did not start (${(e as Error).message}); not measured.`);
    r.proc?.kill();
  }
}
const live = rows.filter((r) => r.port !== undefined && Number.isFinite(r.port));
try {
  for (const r of live) {
    // warm-up (JIT, socket buffers)
    await echo(r.port!);
    await upgrades(r.port!);
  }
  for (let i = 0; i < RUNS; i++) {
    const order = [...live.slice(i % live.length), ...live.slice(0, i % live.length)];
    for (const r of order) {
      const [rate, us] = await measured(r, echo);
      r.echo.push(rate);
      r.echoCpu.push(us);
    }
    for (const r of order) {
      const [rate, us] = await measured(r, upgrades);
      r.up.push(rate);
      r.upCpu.push(us);
    }
  }
} finally {
  for (const r of rows) r.proc?.stdin?.end();
}

const base = live.find((r) => r.name === "ws on node:http");
const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : "—");
const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : "—");
const lines: string[] = [
  `WebSocket: ${RUNS} run(s) of ${DURATION / 1000} s per cell, servers ${PINNED ? "pinned to core 0, load on core 1" : "unpinned"}, load average ${(await import("node:os")).loadavg()[0]!.toFixed(1)}. ` +
    "Ratios are against `ws` on node:http: for rates higher is better, for CPU they are ws's µs over the row's (higher is better too).",
  "",
  "| server | echo msgs/s | ratio | CPU µs/msg | ratio | upgrades/s | ratio | CPU µs/upgrade | ratio |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
];
for (const r of live) {
  const b = base ?? r;
  lines.push(
    `| ${r.name} | ${fmt(median(r.echo))} | ${ratio(median(r.echo), median(b.echo))} | ${fmt(median(r.echoCpu), 2)} | ${ratio(median(b.echoCpu), median(r.echoCpu))} | ${fmt(median(r.up))} | ${ratio(median(r.up), median(b.up))} | ${fmt(median(r.upCpu), 1)} | ${ratio(median(b.upCpu), median(r.upCpu))} |`,
  );
}
for (const n of notes) lines.push("", n);
console.log(lines.join("\n"));
if (!values.markdown) {
  const raw = Object.fromEntries(
    live.map((r) => [r.name, { echo: r.echo, echoCpu: r.echoCpu, up: r.up, upCpu: r.upCpu }]),
  );
  console.log(`\nall runs: ${JSON.stringify(raw)}`);
  if (values.json !== undefined) await writeFile(values.json, `${JSON.stringify(raw, null, 2)}\n`);
}
