// The small protocol every bench server speaks, so that a row is one file that only builds its app.
//
//   node --conditions=phial-source --import tsx bench/servers/<row>.ts <scenario> [port]
//
// starts the app for <scenario> on 127.0.0.1 (port 0 picks a free one) and prints `ready <port>`.
// Started by the runner (with an IPC channel), it also answers:
//   {type: "cpu-start"}  -> remembers process.cpuUsage()
//   {type: "cpu-stop"}   -> {type: "cpu", micros, rss}: CPU time (user + system) since cpu-start
//   {type: "mem"}        -> {type: "mem", rss, heapUsed, external, young} after a full GC (when --expose-gc);
//                           young: resident bytes of V8's young generation (empty after the GC)
//   {type: "exit"}       -> closes the server and exits
// A row that has no equivalent app for a scenario returns null from its start function: the process
// prints `unsupported` and exits 0, and the runner shows "—" in that cell.

import type { ChildProcess } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { getHeapSpaceStatistics } from "node:v8";

/** The apps a row can start. `pipelined` serves the hello app; `idle` is hello with a long keep-alive. */
export const SCENARIOS = [
  "hello",
  "json-param",
  "post-echo",
  "not-found",
  "static",
  "template",
  "pipelined",
  "routing",
  "validated",
  "idle",
] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Keep-alive timeout for the `idle` scenario (the memory test holds connections this long at most). */
export const IDLE_KEEP_ALIVE_MS = 120_000;

export interface Running {
  port: number;
  close(): Promise<void> | void;
  /**
   * CPU µs (user + system) the server has used so far, for a row whose server is another process (nginx);
   * default: this process's.
   */
  cpuMicros?(): number;
}

export type Start = (scenario: Scenario) => Promise<Running | null> | Running | null;

/**
 * Resident bytes of V8's young generation (new space and its large objects). A full GC empties it but
 * keeps its pages: how many were touched depends on how much the process allocated, not on what it holds.
 */
function youngResident(): number {
  let bytes = 0;
  for (const s of getHeapSpaceStatistics()) {
    if (s.space_name === "new_space" || s.space_name === "new_large_object_space")
      bytes += s.physical_space_size;
  }
  return bytes;
}

/** user + system CPU of another process, in µs, from /proc (Linux). */
function cpuOfProcess(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After the name: state is field 3; utime and stime are fields 14 and 15 (1-based, whole line).
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks / 100) * 1e6; // USER_HZ is 100 on Linux
}

/**
 * A row whose server is another program (nginx, Python): its CPU read from /proc; closing sends it
 * `stopSignal` and removes `dir` (its config and temp files) once it has exited.
 */
export function externalServer(
  child: ChildProcess,
  port: number,
  dir: string,
  stopSignal: NodeJS.Signals,
): Running {
  const pid = child.pid!;
  return {
    port,
    cpuMicros: () => cpuOfProcess(pid),
    close: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill(stopSignal);
      }),
  };
}

export type ToChild = { type: "cpu-start" } | { type: "cpu-stop" } | { type: "mem" } | { type: "exit" };
export type FromChild =
  | { type: "ready"; port: number; pid: number }
  | { type: "unsupported" }
  | { type: "cpu"; micros: number; rss: number }
  | { type: "mem"; rss: number; heapUsed: number; external: number; young: number }
  | { type: "error"; message: string };

function isScenario(s: string | undefined): s is Scenario {
  return s !== undefined && (SCENARIOS as readonly string[]).includes(s);
}

/** The port to listen on: argv[3] or BENCH_PORT, else 0 (a free port). */
export function requestedPort(): number {
  const p = Number(process.argv[3] ?? process.env.BENCH_PORT ?? 0);
  return Number.isInteger(p) && p >= 0 && p < 65536 ? p : 0;
}

function send(msg: FromChild): void {
  if (process.send !== undefined) process.send(msg);
}

/** Sends a last message, then exits once it is out. */
function sendAndExit(msg: FromChild, code: number): void {
  if (process.send === undefined) process.exit(code);
  process.send(msg, undefined, {}, () => process.exit(code));
}

/** Runs a row: parses the scenario, starts the app, then serves the runner's requests until told to exit. */
export function serve(start: Start): void {
  const scenario = process.argv[2] ?? process.env.BENCH_SCENARIO;
  if (!isScenario(scenario)) {
    console.error(`usage: <row>.ts <scenario> [port]; scenario is one of: ${SCENARIOS.join(", ")}`);
    process.exit(2);
  }
  let running: Running | null = null;
  let cpuAt: NodeJS.CpuUsage | undefined;
  let externalAt = 0;
  const exit = async (code: number) => {
    try {
      await running?.close();
    } finally {
      // process.exit (not a signal's default action) so that --cpu-prof and --heap-prof write their files.
      process.exit(code);
    }
  };
  process.on("SIGINT", () => void exit(0));
  process.on("SIGTERM", () => void exit(0));
  process.on("disconnect", () => void exit(0));
  process.on("message", (msg: ToChild) => {
    switch (msg.type) {
      case "cpu-start":
        cpuAt = process.cpuUsage();
        if (running?.cpuMicros !== undefined) externalAt = running.cpuMicros();
        break;
      case "cpu-stop": {
        const d = process.cpuUsage(cpuAt);
        const own = d.user + d.system;
        const micros = running?.cpuMicros === undefined ? own : own + running.cpuMicros() - externalAt;
        send({ type: "cpu", micros, rss: process.memoryUsage.rss() });
        break;
      }
      case "mem": {
        const gc = (globalThis as { gc?: () => void }).gc;
        if (gc !== undefined) {
          gc();
          gc();
        }
        const m = process.memoryUsage();
        send({ type: "mem", rss: m.rss, heapUsed: m.heapUsed, external: m.external, young: youngResident() });
        break;
      }
      case "exit":
        void exit(0);
        break;
    }
  });
  Promise.resolve()
    .then(() => start(scenario))
    .then(
      (r) => {
        if (r === null) {
          console.log("unsupported");
          sendAndExit({ type: "unsupported" }, 0);
          return;
        }
        running = r;
        console.log(`ready ${r.port}`);
        send({ type: "ready", port: r.port, pid: process.pid });
      },
      (err: unknown) => {
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
        console.error(message);
        sendAndExit({ type: "error", message }, 1);
      },
    );
}
