// The load generator: wrk (with a generated Lua script) when installed, autocannon otherwise.
// Each run targets 127.0.0.1, lasts a fixed time and stops by itself.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { hasCommand, nodeArgv, pinned, run } from "./proc.ts";
import type { LoadSpec } from "./scenarios.ts";

export interface LoadResult {
  /** Responses received in the window. */
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers with a status other than the expected one. */
  badStatus: number;
  /** Connect/read/write errors and timeouts. */
  socketErrors: number;
}

export interface LoadOptions {
  port: number;
  /** Stop after about this many requests instead of after `seconds` (which is then a cap). */
  amount?: number;
  spec: LoadSpec;
  seconds: number;
  connections: number;
  /** Core the load generator is pinned to. */
  core: number | undefined;
}

export type LoadTool = "wrk" | "autocannon";

export function pickTool(forced: string | undefined): LoadTool {
  if (forced === "autocannon") return "autocannon";
  if (forced === "wrk" && !hasCommand("wrk"))
    throw new Error("--load wrk: wrk is not installed (apt-get install wrk)");
  return hasCommand("wrk") ? "wrk" : "autocannon";
}

export function runLoad(tool: LoadTool, o: LoadOptions): Promise<LoadResult> {
  return tool === "wrk" ? runWrk(o) : runAutocannon(o);
}

/** A Lua string literal for any bytes. */
function lua(s: string): string {
  let out = '"';
  for (const ch of Buffer.from(s, "utf8")) {
    if (ch === 0x22 || ch === 0x5c) out += `\\${String.fromCharCode(ch)}`;
    else if (ch >= 0x20 && ch < 0x7f) out += String.fromCharCode(ch);
    else out += `\\${ch}`;
  }
  return `${out}"`;
}

/** The wrk script: the request(s) to send, and a `done` that prints the figures as one JSON line. */
export function wrkScript(spec: LoadSpec, amount?: number): string {
  const lines: string[] = [`wrk.method = ${lua(spec.method)}`];
  if (amount !== undefined) {
    if (spec.pipeline > 1 || spec.paths.length > 1)
      throw new Error("a counted wrk run sends one path, unpipelined");
    // wrk has no request count: after `amount` requests the thread stops sending and says so on stdout,
    // and runWrk interrupts wrk (SIGINT ends its run early and it still prints its summary).
    lines.push(
      "local req",
      "local n = 0",
      `init = function(args) req = wrk.format(nil, ${lua(spec.paths[0]!)}) end`,
      "request = function()",
      "  n = n + 1",
      `  if n == ${amount} then io.write("PHIAL_AMOUNT_SENT\\n"); io.flush() end`,
      `  if n > ${amount} then wrk.thread:stop() end`,
      "  return req",
      "end",
    );
  }
  if (spec.body !== undefined) lines.push(`wrk.body = ${lua(spec.body)}`);
  for (const [k, v] of Object.entries(spec.headers ?? {})) lines.push(`wrk.headers[${lua(k)}] = ${lua(v)}`);
  const paths = spec.paths;
  if (spec.pipeline > 1) {
    // As wrk's pipeline.lua: one buffer of N requests; wrk counts N responses before writing again.
    lines.push(
      "local req",
      "init = function(args)",
      "  local r = {}",
      `  for i = 1, ${spec.pipeline} do r[i] = wrk.format(nil, ${lua(paths[0]!)}) end`,
      "  req = table.concat(r)",
      "end",
      "request = function() return req end",
    );
  } else if (amount !== undefined) {
    // the request function above
  } else if (paths.length > 1) {
    lines.push(
      `local paths = { ${paths.map(lua).join(", ")} }`,
      "local reqs = {}",
      "local n = 0",
      "init = function(args)",
      "  for i, p in ipairs(paths) do reqs[i] = wrk.format(nil, p) end",
      "end",
      "request = function()",
      "  n = n % #reqs + 1",
      "  return reqs[n]",
      "end",
    );
  } else {
    lines.push(`wrk.path = ${lua(paths[0]!)}`);
  }
  lines.push(
    "done = function(summary, latency, requests)",
    "  local e = summary.errors",
    '  io.write(string.format("BENCH_JSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"connect\\":%d,\\"read\\":%d,' +
      '\\"write\\":%d,\\"status\\":%d,\\"timeout\\":%d,\\"p50_us\\":%d,\\"p99_us\\":%d}\\n",',
    "    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,",
    "    latency:percentile(50), latency:percentile(99)))",
    "end",
  );
  return `${lines.join("\n")}\n`;
}

interface WrkJson {
  requests: number;
  duration_us: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50_us: number;
  p99_us: number;
}

async function runWrk(o: LoadOptions): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), "phial-bench-"));
  try {
    const script = join(dir, "load.lua");
    writeFileSync(script, wrkScript(o.spec, o.amount));
    const [cmd, args] = pinned(o.core, [
      "wrk",
      "-t1",
      `-c${o.connections}`,
      `-d${Math.max(1, Math.round(o.seconds))}s`,
      "--timeout",
      "5s",
      "-s",
      script,
      `http://127.0.0.1:${o.port}${o.spec.paths[0]}`,
    ]);
    const out = await run(
      cmd,
      args,
      (o.seconds + 30) * 1000,
      o.amount === undefined ? undefined : { line: "PHIAL_AMOUNT_SENT", signal: "SIGINT" },
    );
    const line = out.split("\n").find((l) => l.startsWith("BENCH_JSON "));
    if (line === undefined) throw new Error(`wrk printed no result:\n${out}`);
    const j = JSON.parse(line.slice("BENCH_JSON ".length)) as WrkJson;
    const seconds = j.duration_us / 1e6;
    // wrk counts 4xx/5xx as status errors; a scenario that expects 404 expects all of them.
    const badStatus = o.spec.status >= 400 ? j.requests - j.status : j.status;
    return {
      requests: j.requests,
      seconds,
      rps: j.requests / seconds,
      p50Ms: j.p50_us / 1000,
      p99Ms: j.p99_us / 1000,
      badStatus,
      socketErrors: j.connect + j.read + j.write + j.timeout,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const AUTOCANNON_CHILD = fileURLToPath(new URL("./autocannon-child.ts", import.meta.url));

async function runAutocannon(o: LoadOptions): Promise<LoadResult> {
  const [cmd, args] = pinned(o.core, [...nodeArgv(AUTOCANNON_CHILD), JSON.stringify(o)]);
  const out = await run(cmd, args, (o.seconds + 30) * 1000);
  const line = out.split("\n").find((l) => l.startsWith("BENCH_JSON "));
  if (line === undefined) throw new Error(`autocannon printed no result:\n${out}`);
  return JSON.parse(line.slice("BENCH_JSON ".length)) as LoadResult;
}
