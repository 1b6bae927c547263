// The fallback load generator when wrk is missing: autocannon in its own (pinned) process, so that its
// CPU use stays off the server's core. argv[2] is the LoadOptions JSON; prints one BENCH_JSON line.

import autocannon from "autocannon";
import type { LoadOptions, LoadResult } from "./load.ts";

const o = JSON.parse(process.argv[2] ?? "{}") as LoadOptions;
const spec = o.spec;
const result = await autocannon({
  url: `http://127.0.0.1:${o.port}`,
  connections: o.connections,
  pipelining: spec.pipeline,
  duration: o.seconds,
  ...(o.amount === undefined ? {} : { amount: o.amount }),
  method: spec.method,
  headers: { ...spec.headers },
  body: spec.body,
  requests: spec.paths.map((path) => ({ path })),
  timeout: 5,
});
const total = result["1xx"] + result["2xx"] + result["3xx"] + result["4xx"] + result["5xx"];
const expected = result.statusCodeStats?.[`${spec.status}` as `${number}`]?.count ?? 0;
const out: LoadResult = {
  requests: total,
  seconds: result.duration,
  rps: total / result.duration,
  p50Ms: result.latency.p50,
  p99Ms: result.latency.p99,
  badStatus: total - expected,
  socketErrors: result.errors,
};
console.log(`BENCH_JSON ${JSON.stringify(out)}`);
