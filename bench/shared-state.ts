// `npm run bench:shared-state [-- --duration S --runs N --connections N]`: what shared state costs per
// request, side by side in one run: a session read and written on every request in a signed cookie vs in
// Redis, and the rate limiter (memory store, Redis store) against no limiter. Starts its own redis-server
// on a free port. Each variant is a server process (pinned to core 0 when taskset works); the load
// generator (wrk, else autocannon) runs on core 1 and Redis is left unpinned. Runs are interleaved across
// variants; the report gives the median req/s and the ratio to the baseline of each group.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createClient } from "redis";
import { pickTool, runLoad } from "./lib/load.ts";
import { ServerChild } from "./lib/proc.ts";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "3" },
    runs: { type: "string", default: "3" },
    connections: { type: "string", default: "50" },
  },
});
const seconds = Number(values.duration);
const runs = Number(values.runs);
const connections = Number(values.connections);
const SERVER = new URL("./servers/phial-shared-state.ts", import.meta.url).pathname;

const VARIANTS = [
  { id: "none", group: "session", label: "no session (baseline)" },
  { id: "cookie", group: "session", label: "signed-cookie session, read + written" },
  { id: "redis", group: "session", label: "Redis session, read + written" },
  { id: "none", group: "limiter", label: "no limiter (baseline)" },
  { id: "limit-memory", group: "limiter", label: "Limiter, MemoryStore, fixed window" },
  { id: "limit-redis", group: "limiter", label: "Limiter, RedisStore, fixed window" },
  { id: "limit-redis-sliding", group: "limiter", label: "Limiter, RedisStore, sliding window" },
] as const;

async function startRedis(): Promise<{ url: string; stop: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), "phial-bench-redis-"));
  const { freePort } = await import("../test/nginx-support.ts");
  const port = await freePort();
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const c = createClient({ url, socket: { reconnectStrategy: false } });
    c.on("error", () => {});
    try {
      await c.connect();
      await c.close();
      break;
    } catch {
      if (i > 200) throw new Error("redis-server did not start");
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return {
    url,
    stop: () => {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A session cookie for the variant: the first request's Set-Cookie (so every measured request reads one). */
async function cookieFor(port: number): Promise<string | undefined> {
  const r = await fetch(`http://127.0.0.1:${port}/count`);
  const set = r.headers.get("set-cookie");
  return set === null ? undefined : set.slice(0, set.indexOf(";"));
}

const redis = await startRedis();
process.env.REDIS_URL = redis.url;
const tool = pickTool(undefined);
const rps = new Map<number, number[]>();
try {
  const servers: { child: ServerChild; cookie: string | undefined }[] = [];
  for (const v of VARIANTS) {
    process.env.BENCH_VARIANT = v.id;
    const child = await ServerChild.start(SERVER, "hello", { core: 0 });
    if (child === "unsupported") throw new Error("unsupported");
    servers.push({ child, cookie: await cookieFor(child.port) });
  }
  // Warm-up, then interleaved runs (run 1 of every variant, then run 2, … in a rotating order).
  for (let round = -1; round < runs; round++) {
    for (let k = 0; k < VARIANTS.length; k++) {
      const i = (k + Math.max(0, round)) % VARIANTS.length;
      const s = servers[i]!;
      const r = await runLoad(tool, {
        port: s.child.port,
        spec: {
          method: "GET",
          paths: ["/count"],
          headers: s.cookie === undefined ? {} : { Cookie: s.cookie },
          pipeline: 1,
          status: 200,
        },
        seconds: round < 0 ? 1 : seconds,
        connections,
        core: 1,
      });
      if (r.badStatus > 0 || r.socketErrors > 0) {
        throw new Error(
          `${VARIANTS[i]!.label}: ${r.badStatus} bad statuses, ${r.socketErrors} socket errors`,
        );
      }
      if (round >= 0) rps.set(i, [...(rps.get(i) ?? []), r.rps]);
    }
  }
  for (const s of servers) await s.child.stop();
} finally {
  redis.stop();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`\n${tool}, ${connections} connections, ${runs} runs × ${seconds} s per variant, interleaved.`);
console.log("The machine is shared with other work: compare the ratios, not the absolute numbers.\n");
console.log("| variant | req/s (median) | vs baseline | server time added per request (µs, from req/s) |");
console.log("|---|---:|---:|---:|");
let base = 0;
VARIANTS.forEach((v, i) => {
  const m = median(rps.get(i)!);
  if (v.id === "none") base = m;
  const added = v.id === "none" ? "—" : `${((1e6 / m - 1e6 / base) * 1).toFixed(1)}`;
  console.log(`| ${v.label} | ${Math.round(m)} | ${(m / base).toFixed(2)}× | ${added} |`);
});
