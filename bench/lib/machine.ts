// What the report says about the machine and the software, and how busy the server's core was with
// other people's work while we measured.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";

export interface MachineInfo {
  cpu: string;
  cores: number;
  memGiB: number;
  kernel: string;
  node: string;
  loadTool: string;
}

export function machineInfo(loadTool: string): MachineInfo {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? "unknown",
    cores: c.length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    kernel: `Linux ${release()}`,
    node: process.version,
    loadTool,
  };
}

export function loadTool(tool: "wrk" | "autocannon", root: string): string {
  if (tool === "wrk") {
    const r = spawnSync("wrk", ["-v"], { encoding: "utf8" });
    const first = `${r.stdout ?? ""}${r.stderr ?? ""}`.split("\n")[0] ?? "";
    const m = /wrk\s+(\S+)/.exec(first);
    return `wrk ${m?.[1] ?? "(version unknown)"}`;
  }
  return `autocannon ${packageVersion(root, "autocannon")}`;
}

/** The installed version of a package, read from its package.json. */
export function packageVersion(root: string, name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")) as {
      version?: string;
    };
    return pkg.version ?? "?";
  } catch {
    return "not installed";
  }
}

/** Busy time of one core, in clock ticks, from /proc/stat (undefined where there is none). */
export function coreBusyTicks(core: number): number | undefined {
  let text: string;
  try {
    text = readFileSync("/proc/stat", "utf8");
  } catch {
    return undefined;
  }
  const line = text.split("\n").find((l) => l.startsWith(`cpu${core} `));
  if (line === undefined) return undefined;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
  return (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
}

let tick: number | undefined;

/** Clock ticks per second (USER_HZ). */
export function ticksPerSecond(): number {
  if (tick === undefined) {
    const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
    const n = Number((r.stdout ?? "").trim());
    tick = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return tick;
}

export function loadAverage(): number {
  return loadavg()[0] ?? 0;
}

/** Share (0..1) of all cores busy over `ms`, from /proc/stat; NaN where there is none. */
export async function machineBusy(ms: number): Promise<number> {
  const cores = cpus().length;
  const sum = () => {
    let t = 0;
    for (let c = 0; c < cores; c++) {
      const b = coreBusyTicks(c);
      if (b === undefined) return Number.NaN;
      t += b;
    }
    return t;
  };
  const a = sum();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const b = sum();
  return (b - a) / ticksPerSecond() / (((performance.now() - t0) / 1000) * cores);
}

/**
 * Waits until each of `cores` was under `limit` busy over a `sampleMs` window, for at most `maxMs`.
 * Resolves true when calm was seen, false when the time ran out.
 */
export async function waitCalm(
  cores: readonly number[],
  limit: number,
  sampleMs: number,
  maxMs: number,
): Promise<boolean> {
  const hz = ticksPerSecond();
  const until = performance.now() + maxMs;
  for (;;) {
    const a = cores.map(coreBusyTicks);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, sampleMs));
    const b = cores.map(coreBusyTicks);
    const secs = (performance.now() - t0) / 1000;
    let calm = true;
    for (let i = 0; i < cores.length; i++) {
      const x = a[i];
      const y = b[i];
      if (x === undefined || y === undefined) return true;
      if ((y - x) / hz / secs >= limit) calm = false;
    }
    if (calm) return true;
    if (performance.now() >= until) return false;
  }
}
