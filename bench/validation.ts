// The validated JSON POST, side by side in one run: `POST /orders` with a 1 KiB body of 10 fields
// checked by a schema, a response schema that drops a field the handler returns. Phial with zod 4 and
// with valibot against Fastify with the same schemas as JSON Schema (ajv + fast-json-stringify).
//
//   npx tsx --conditions=phial-source bench/validation.ts [seconds-per-run] [runs]
//
// Each row is its own process pinned to core 0, the load generator (wrk, else autocannon) on core 1;
// runs are interleaved across rows and the median req/s reported, with the ratio to Fastify.

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pickTool, runLoad } from "./lib/load.ts";
import { canPin, ServerChild } from "./lib/proc.ts";
import { exchange, type LoadSpec } from "./lib/scenarios.ts";
import { median } from "./lib/stats.ts";
import { ORDER_BODY, RECEIPT_REPLY } from "./validated/fixture.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const ROWS = [
  { name: "phial (zod 4)", file: "phial.ts" },
  { name: "phial (valibot)", file: "phial-valibot.ts" },
  { name: "fastify", file: "fastify.ts" },
];
const seconds = Number(process.argv[2] ?? 5);
const runs = Number(process.argv[3] ?? 3);
const pin = canPin();
const tool = pickTool(undefined);
const spec: LoadSpec = {
  method: "POST",
  paths: ["/orders"],
  body: ORDER_BODY,
  headers: { "Content-Type": "application/json" },
  pipeline: 1,
  status: 200,
};

function raw(body: string): string {
  return `POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

const servers: ServerChild[] = [];
try {
  for (const row of ROWS) {
    const s = await ServerChild.start(join(HERE, "validated", row.file), "post-echo", {
      core: pin ? 0 : undefined,
    });
    if (s === "unsupported") throw new Error(`${row.name} did not start`);
    servers.push(s);
    const [ok] = await exchange(s.port, raw(ORDER_BODY), 1);
    if (ok!.status !== 200 || ok!.body.toString() !== RECEIPT_REPLY)
      throw new Error(`${row.name} answered ${ok!.status} ${ok!.body.toString().slice(0, 300)}`);
    const bad = JSON.stringify({ ...JSON.parse(ORDER_BODY), priority: 12 });
    const [no] = await exchange(s.port, raw(bad), 1);
    if (no!.status < 400 || no!.status > 499)
      throw new Error(`${row.name} took an invalid order (${no!.status})`);
    await runLoad(tool, { port: s.port, spec, seconds: 2, connections: 50, core: pin ? 1 : undefined }); // warm-up
  }
  const rps: number[][] = ROWS.map(() => []);
  const cpu: number[][] = ROWS.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < ROWS.length; k++) {
      const i = (k + r) % ROWS.length;
      servers[i]!.cpuStart();
      const res = await runLoad(tool, {
        port: servers[i]!.port,
        spec,
        seconds,
        connections: 50,
        core: pin ? 1 : undefined,
      });
      if (res.badStatus > 0 || res.socketErrors > 0)
        throw new Error(`${ROWS[i]!.name}: ${res.badStatus} bad answers, ${res.socketErrors} socket errors`);
      rps[i]!.push(res.rps);
      const used = await servers[i]!.cpuStop();
      cpu[i]!.push(used.micros / res.requests);
    }
  }
  const base = median(rps[ROWS.length - 1]!);
  const baseCpu = median(cpu[ROWS.length - 1]!);
  console.log(
    `validated JSON POST (1 KiB, 10 fields, response schema), ${tool}, 50 connections, ${runs} × ${seconds} s, median req/s${pin ? "" : " (not pinned)"}`,
  );
  for (let i = 0; i < ROWS.length; i++) {
    const m = median(rps[i]!);
    const c = median(cpu[i]!);
    console.log(
      `  ${ROWS[i]!.name.padEnd(16)} ${String(Math.round(m)).padStart(7)} req/s  ${(m / base).toFixed(2)}× fastify  ` +
        `${c.toFixed(1).padStart(6)} CPU µs/req  ${(baseCpu / c).toFixed(2)}× fastify by CPU   ` +
        `req/s runs: ${rps[i]!.map((x) => Math.round(x)).join(", ")}`,
    );
  }
} finally {
  await Promise.all(servers.map((s) => s.stop()));
}
