// WebSocket bench: Phial's `app.websocket` echo next to `ws` on node:http, in the same run.
//
//   npx tsx --conditions=phial-source bench/ws/run.ts [--duration 3] [--runs 3]
//
// Each server runs in its own process (pinned to core 0 when `taskset` exists); the load comes from this
// process (core 1) with `ws` clients. Rounds alternate between the servers. Two measures:
// - echo: 50 connections, each keeping 16 text messages of 64 bytes in flight; messages echoed per second;
// - upgrades: 16 loops that each open a connection, wait for "open", close it, and start again; per second.
// The load generator is one Node process, so near its ceiling it understates the faster server; the
// ratios are what to read.

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? def : Number(args[i + 1]);
};
const DURATION = opt("duration", 3) * 1000;
const RUNS = opt("runs", 3);
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const TASKSET = existsSync("/usr/bin/taskset");

interface Row {
  name: string;
  file: string;
  port?: number;
  proc?: ChildProcess;
}

const rows: Row[] = [
  { name: "phial app.websocket", file: here("./server-phial.ts") },
  { name: "ws on node:http", file: here("./server-ws.ts") },
];

async function start(row: Row): Promise<void> {
  const cmd = [process.execPath, "--import", "tsx", "--conditions=phial-source", row.file];
  const p = TASKSET ? spawn("taskset", ["-c", "0", ...cmd]) : spawn(cmd[0]!, cmd.slice(1));
  row.proc = p;
  row.port = await new Promise<number>((resolve, reject) => {
    p.stdout!.once("data", (d: Buffer) => resolve(Number(String(d).trim())));
    p.once("exit", (c) => reject(new Error(`${row.name} exited with ${c}`)));
  });
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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

for (const r of rows) await start(r);
const results = new Map<string, { echo: number[]; up: number[] }>(
  rows.map((r) => [r.name, { echo: [], up: [] }]),
);
try {
  // warm-up
  for (const r of rows) {
    await echo(r.port!);
    await upgrades(r.port!);
  }
  for (let i = 0; i < RUNS; i++) {
    const order = i % 2 === 0 ? rows : [...rows].reverse();
    for (const r of order) results.get(r.name)!.echo.push(await echo(r.port!));
    for (const r of order) results.get(r.name)!.up.push(await upgrades(r.port!));
  }
} finally {
  for (const r of rows) r.proc?.kill();
}
const [a, b] = rows.map((r) => results.get(r.name)!);
console.log(
  `WebSocket bench: ${RUNS} runs of ${DURATION / 1000}s, servers ${TASKSET ? "on core 0" : "unpinned"}`,
);
console.log("| server | echo msgs/s (median) | upgrades/s (median) |");
console.log("| --- | ---: | ---: |");
for (const r of rows) {
  const x = results.get(r.name)!;
  console.log(`| ${r.name} | ${Math.round(median(x.echo))} | ${Math.round(median(x.up))} |`);
}
console.log(
  `| ratio phial / ws | ${(median(a!.echo) / median(b!.echo)).toFixed(2)}× | ${(median(a!.up) / median(b!.up)).toFixed(2)}× |`,
);
console.log(`all runs: ${JSON.stringify(Object.fromEntries(results))}`);
