// Runs one client row in its own (pinned) process: `inflight` loops each awaiting one GET at a time, for
// a warm-up and then a measured window. Prints one BENCH_JSON line with the counts, the latency
// percentiles and the client's own CPU time per request.
//
//   node --conditions=phial-source --import tsx bench/clients/driver.ts <row file> <origin> <seconds> <warmup> <inflight>

import { pathToFileURL } from "node:url";
import { HELLO } from "../servers/fixtures.ts";
import type { BenchClient, CreateClient } from "./types.ts";

export interface ClientResult {
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Client CPU (user + system) per request, µs. */
  cpuUs: number;
  errors: number;
}

const [file, origin, secondsArg, warmupArg, inflightArg] = process.argv.slice(2);
if (file === undefined || origin === undefined) {
  console.error("usage: driver.ts <row file> <origin> <seconds> <warmup seconds> <inflight>");
  process.exit(2);
}
const seconds = Number(secondsArg ?? 3);
const warmup = Number(warmupArg ?? 1);
const inflight = Number(inflightArg ?? 50);

const mod = (await import(pathToFileURL(file).href)) as { create?: CreateClient };
if (typeof mod.create !== "function") {
  console.error(`${file} exports no create(origin, connections)`);
  process.exit(2);
}
const client: BenchClient = await mod.create(origin, inflight);

let latencies = new Float64Array(1 << 16);
let count = 0;
let errors = 0;
let firstError = "";

async function loop(until: number, record: boolean): Promise<void> {
  while (performance.now() < until) {
    const t0 = performance.now();
    try {
      const r = await client.get("/hello");
      if (r.status !== 200 || r.body !== HELLO)
        throw new Error(`status ${r.status}, body ${r.body.slice(0, 40)}`);
    } catch (e) {
      errors++;
      if (firstError === "") firstError = String(e);
      if (errors > 1000) throw new Error(`too many errors, first: ${firstError}`);
      continue;
    }
    if (!record) continue;
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = performance.now() - t0;
  }
}

async function phase(durationS: number, record: boolean): Promise<number> {
  const t0 = performance.now();
  const until = t0 + durationS * 1000;
  await Promise.all(Array.from({ length: inflight }, () => loop(until, record)));
  return (performance.now() - t0) / 1000;
}

if (warmup > 0) await phase(warmup, false);
errors = 0;
const cpu0 = process.cpuUsage();
const elapsed = await phase(seconds, true);
const cpu = process.cpuUsage(cpu0);
await client.close();
const sorted = latencies.subarray(0, count).sort();
const at = (q: number) => (count === 0 ? Number.NaN : sorted[Math.min(count - 1, Math.ceil(q * count) - 1)]!);
const out: ClientResult = {
  requests: count,
  seconds: elapsed,
  rps: count / elapsed,
  p50Ms: at(0.5),
  p99Ms: at(0.99),
  cpuUs: (cpu.user + cpu.system) / Math.max(1, count),
  errors,
};
if (errors > 0) console.error(`first error: ${firstError}`);
console.log(`BENCH_JSON ${JSON.stringify(out)}`);
process.exit(0);
