// Compression bench: a 64 KiB HTML page compressed by Phial (`compression` config) next to Fastify with
// @fastify/compress, in the same run. Both use gzip level 6 and brotli quality 4 (each one's default,
// set explicitly) and a 1 KiB threshold.
//
//   npm run bench:compress [-- --duration 2 --runs 3 --quick --markdown]
//
// Rows: the page returned by a view (compressed per response: no cache can help) and the same bytes as
// a static file (Phial keeps the compressed forms of small cached files; @fastify/static compresses per
// response), each with `Accept-Encoding: gzip` and `Accept-Encoding: br`. Servers run pinned to core 0,
// the load generator (wrk when installed, else autocannon) on core 1, 50 connections; rounds alternate
// between the servers. Each cell reports req/s and the server's CPU µs per request (process.cpuUsage over
// the run). The machine may be shared: read the ratios.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { pickTool, runLoad } from "../lib/load.ts";
import { pageHtml } from "./page.ts";

const { values } = parseArgs({
  options: {
    duration: { type: "string" },
    runs: { type: "string" },
    quick: { type: "boolean", default: false },
    markdown: { type: "boolean", default: false },
    load: { type: "string" },
  },
  strict: true,
});
const SECONDS = Math.max(1, Number(values.duration ?? (values.quick ? 1 : 2)));
const RUNS = Math.max(1, Number(values.runs ?? (values.quick ? 1 : 3)));
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));
const PINNED = spawnSync("taskset", ["-c", "0", "true"], { stdio: "ignore" }).status === 0;
const TSX = import.meta.resolve("tsx");
const tool = pickTool(values.load);

interface Server {
  name: string;
  file: string;
  proc?: ChildProcess;
  port?: number;
  lines: string[];
  wake?: () => void;
}
const servers: Server[] = [
  { name: "phial", file: here("./server-phial.ts"), lines: [] },
  { name: "fastify + @fastify/compress", file: here("./server-fastify.ts"), lines: [] },
];
const cells = [
  { path: "/page", enc: "gzip", what: "view, gzip" },
  { path: "/page", enc: "br", what: "view, br" },
  { path: "/static/page.html", enc: "gzip", what: "static file, gzip" },
  { path: "/static/page.html", enc: "br", what: "static file, br" },
] as const;

async function nextLine(s: Server): Promise<string> {
  while (s.lines.length === 0) {
    if (s.proc?.exitCode !== null) throw new Error(`${s.name} exited`);
    await new Promise<void>((resolve) => {
      s.wake = resolve;
    });
  }
  return s.lines.shift()!;
}

async function start(s: Server): Promise<void> {
  const argv = [process.execPath, "--conditions=phial-source", "--import", TSX, s.file];
  const [cmd, ...args] = PINNED ? ["taskset", "-c", "0", ...argv] : argv;
  const p = spawn(cmd!, args, {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, NODE_ENV: "production" },
  });
  s.proc = p;
  let buf = "";
  p.stdout!.setEncoding("utf8").on("data", (d: string) => {
    buf += d;
    let i = buf.indexOf("\n");
    while (i !== -1) {
      s.lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      i = buf.indexOf("\n");
    }
    s.wake?.();
  });
  p.once("exit", () => s.wake?.());
  s.port = Number(await nextLine(s));
}

async function cpu(s: Server): Promise<number> {
  s.proc!.stdin!.write("\n");
  return Number(await nextLine(s));
}

/** Checks that a server answers the cell with the page, compressed as asked. */
async function check(s: Server, path: string, enc: string): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${s.port}${path}`, { headers: { "Accept-Encoding": enc } });
  const got = r.headers.get("content-encoding");
  // fetch decodes gzip and br itself; the header says what came over the wire.
  const text = await r.text();
  if (r.status !== 200 || got !== enc || text !== pageHtml())
    throw new Error(
      `${s.name} ${path} (${enc}): status ${r.status}, Content-Encoding ${got}, body ${text.length} chars`,
    );
}

if (PINNED) spawnSync("taskset", ["-pc", "1", String(process.pid)], { stdio: "ignore" });
const results = new Map<string, { rps: number[]; cpu: number[] }>();
const key = (s: Server, c: (typeof cells)[number]) => `${s.name}|${c.what}`;
try {
  for (const s of servers) await start(s);
  for (const s of servers) for (const c of cells) await check(s, c.path, c.enc);
  const load = async (s: Server, c: (typeof cells)[number], secs: number) =>
    runLoad(tool, {
      port: s.port!,
      spec: {
        method: "GET",
        paths: [c.path],
        headers: { "Accept-Encoding": c.enc },
        pipeline: 1,
        status: 200,
      },
      seconds: secs,
      connections: 50,
      core: PINNED ? 1 : undefined,
    });
  for (const s of servers) for (const c of cells) await load(s, c, 1); // warm-up
  for (let i = 0; i < RUNS; i++) {
    for (const c of cells) {
      const order = i % 2 === 0 ? servers : [...servers].reverse();
      for (const s of order) {
        const c0 = await cpu(s);
        const r = await load(s, c, SECONDS);
        const c1 = await cpu(s);
        const cell = results.get(key(s, c)) ?? { rps: [], cpu: [] };
        cell.rps.push(r.rps);
        cell.cpu.push((c1 - c0) / Math.max(1, r.requests));
        results.set(key(s, c), cell);
      }
    }
  }
} finally {
  for (const s of servers) s.proc?.stdin?.end();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const out: string[] = [
  `Compressed 64 KiB HTML page: ${RUNS} run(s) of ${SECONDS} s per cell, ${tool}, 50 connections, servers ${PINNED ? "pinned to core 0, load on core 1" : "unpinned"}, load average ${loadavg()[0]!.toFixed(1)}. ` +
    "gzip level 6 and brotli quality 4 on both sides. Ratio: Phial over Fastify (req/s), Fastify's CPU µs over Phial's (CPU); higher is better for Phial.",
  "",
  "| request | phial req/s | fastify req/s | ratio | phial CPU µs/req | fastify CPU µs/req | ratio |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
];
for (const c of cells) {
  const p = results.get(key(servers[0]!, c));
  const f = results.get(key(servers[1]!, c));
  if (p === undefined || f === undefined) continue;
  const [pr, fr, pc, fc] = [median(p.rps), median(f.rps), median(p.cpu), median(f.cpu)];
  out.push(
    `| ${c.what} | ${pr.toFixed(0)} | ${fr.toFixed(0)} | ${(pr / fr).toFixed(2)}× | ${pc.toFixed(0)} | ${fc.toFixed(0)} | ${(fc / pc).toFixed(2)}× |`,
  );
}
console.log(out.join("\n"));
if (!values.markdown) console.log(`\nall runs: ${JSON.stringify(Object.fromEntries(results))}`);
