// Child processes: bench servers and client drivers, pinned to a core, spoken to over IPC.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import type { FromChild, Scenario, ToChild } from "../servers/common.ts";

let tasksetChecked: boolean | undefined;

/** True when `taskset` can pin processes to a core here. */
export function canPin(): boolean {
  if (tasksetChecked === undefined) {
    const r = spawnSync("taskset", ["-c", "0", "true"], { stdio: "ignore" });
    tasksetChecked = r.status === 0;
  }
  return tasksetChecked;
}

/** The command line for `argv` pinned to `core` (unpinned when taskset is missing or core is undefined). */
export function pinned(core: number | undefined, argv: string[]): [string, string[]] {
  if (core === undefined || !canPin()) return [argv[0]!, argv.slice(1)];
  return ["taskset", ["-c", String(core), ...argv]];
}

/** tsx's loader, resolved from here so that children start from any working directory. */
const TSX = import.meta.resolve("tsx");

/** Node with the TypeScript loader and the source condition, as `npm run bench` runs itself. */
export function nodeArgv(file: string, extra: readonly string[] = []): string[] {
  return [process.execPath, "--conditions=phial-source", "--import", TSX, ...extra, file];
}

type Waiter = { type: FromChild["type"]; resolve: (m: FromChild) => void; reject: (e: Error) => void };

/** A bench server child: started for one scenario, then measured through IPC. */
export class ServerChild {
  readonly port: number;
  private readonly proc: ChildProcess;
  private readonly waiters: Waiter[];
  private exited = false;

  private constructor(proc: ChildProcess, port: number, waiters: Waiter[]) {
    this.proc = proc;
    this.port = port;
    this.waiters = waiters;
  }

  /**
   * Starts `file` for `scenario` on a free port. Resolves with the child, or "unsupported" when the
   * row has no app for the scenario; rejects when it fails to start within `timeoutMs`.
   */
  static start(
    file: string,
    scenario: Scenario,
    opts: { core?: number; nodeArgs?: readonly string[]; timeoutMs?: number } = {},
  ): Promise<ServerChild | "unsupported"> {
    const [cmd, args] = pinned(opts.core, [...nodeArgv(file, opts.nodeArgs), scenario, "0"]);
    const proc = spawn(cmd, args, {
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      env: { ...process.env, NODE_ENV: "production" },
    });
    let stderr = "";
    // A send to a child that has just died fails asynchronously; 'exit' reports the death.
    proc.on("error", () => {});
    proc.stderr?.setEncoding("utf8");
    proc.stderr?.on("data", (s: string) => {
      if (stderr.length < 8000) stderr += s;
    });
    const waiters: Waiter[] = [];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill("SIGKILL");
        reject(new Error(`${file} ${scenario}: no "ready" within ${opts.timeoutMs ?? 20_000} ms\n${stderr}`));
      }, opts.timeoutMs ?? 20_000);
      let child: ServerChild | undefined;
      proc.on("message", (m: FromChild) => {
        if (child === undefined) {
          if (m.type === "ready") {
            clearTimeout(timer);
            child = new ServerChild(proc, m.port, waiters);
            resolve(child);
          } else if (m.type === "unsupported") {
            clearTimeout(timer);
            resolve("unsupported");
          } else if (m.type === "error") {
            clearTimeout(timer);
            reject(new Error(`${file} ${scenario} failed to start:\n${m.message}`));
          }
          return;
        }
        const i = waiters.findIndex((w) => w.type === m.type);
        if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m);
      });
      proc.on("exit", (code, signal) => {
        clearTimeout(timer);
        if (child !== undefined) child.exited = true;
        const err = new Error(`${file} ${scenario} exited (${signal ?? code})\n${stderr}`);
        for (const w of waiters.splice(0)) w.reject(err);
        if (child === undefined) reject(err);
      });
    });
  }

  private ask<T extends FromChild["type"]>(msg: ToChild, reply: T): Promise<Extract<FromChild, { type: T }>> {
    if (this.exited) return Promise.reject(new Error("the server process has exited"));
    return new Promise((resolve, reject) => {
      this.waiters.push({ type: reply, resolve: resolve as (m: FromChild) => void, reject });
      this.proc.send(msg);
    });
  }

  cpuStart(): void {
    if (!this.exited) this.proc.send({ type: "cpu-start" } satisfies ToChild);
  }

  /** CPU µs (user + system) the server used since cpuStart, and its RSS now. */
  cpuStop(): Promise<{ micros: number; rss: number }> {
    return this.ask({ type: "cpu-stop" }, "cpu");
  }

  /**
   * RSS, JS heap, external memory (Buffers) and the young generation's resident pages after a full GC
   * (the child must run with --expose-gc for the GC).
   */
  mem(): Promise<{ rss: number; heapUsed: number; external: number; young: number }> {
    return this.ask({ type: "mem" }, "mem");
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Asks the server to close and exit; kills it if it doesn't within a second. */
  stop(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      const kill = setTimeout(() => this.proc.kill("SIGKILL"), 1000);
      this.proc.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      this.proc.send({ type: "exit" } satisfies ToChild, (err) => {
        if (err) this.proc.kill("SIGKILL");
      });
    });
  }
}

/**
 * Runs a command to completion, collecting stdout; rejects on a non-zero exit. With `interrupt`, sends
 * it `signal` once its stdout has a line starting with `line` (and then a non-zero exit is fine).
 */
export function run(
  cmd: string,
  args: readonly string[],
  timeoutMs: number,
  interrupt?: { line: string; signal: NodeJS.Signals },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let interrupted = false;
    p.stdout.setEncoding("utf8");
    p.stderr.setEncoding("utf8");
    p.stdout.on("data", (s: string) => {
      out += s;
      if (interrupt !== undefined && !interrupted && out.includes(`${interrupt.line}\n`)) {
        interrupted = true;
        // A moment's delay, and again until it exits: a signal that comes before the program has set
        // its handler (wrk sets it after starting its threads) would end it without its summary.
        const again = () => {
          if (p.exitCode === null && p.signalCode === null) {
            p.kill(interrupt.signal);
            setTimeout(again, 500).unref();
          }
        };
        setTimeout(again, 50).unref();
      }
    });
    p.stderr.on("data", (s: string) => {
      if (err.length < 8000) err += s;
    });
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    p.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0 || (interrupted && signal === null)) resolve(out);
      else reject(new Error(`${cmd} ${args.join(" ")} exited (${signal ?? code}): ${err.trim()}`));
    });
  });
}

/** True when `name` is on PATH. */
export function hasCommand(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0;
}
