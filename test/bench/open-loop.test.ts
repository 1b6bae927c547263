// The pieces of bench:latency and bench:soak whose mistakes would make them lie: the histogram's
// percentiles, the answer framing, the open-loop generator's coordinated-omission correction (against a
// real server with a known capacity), counted load runs, and the doc sections `npm run bench` keeps.

import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { test } from "node:test";
import { markedSections, replaceSection } from "../../bench/lib/doc-section.ts";
import { bucketOf, Histogram, upperOf } from "../../bench/lib/histogram.ts";
import { pickTool, runLoad } from "../../bench/lib/load.ts";
import { answerEnd, openLoop } from "../../bench/lib/open-loop.ts";
import type { LoadSpec } from "../../bench/lib/scenarios.ts";

test("the histogram's percentiles are within 1% of the exact ones, and its buckets tile the integers", () => {
  const h = new Histogram();
  const values: number[] = [];
  let x = 1;
  for (let i = 0; i < 20_000; i++) {
    x = (x * 48271) % 2147483647;
    const v = x % 5_000_000; // up to 5 s in µs
    values.push(v);
    h.record(v);
  }
  values.sort((a, b) => a - b);
  for (const q of [0.5, 0.9, 0.99, 0.999]) {
    const exact = values[Math.ceil(q * values.length) - 1]!;
    const got = h.quantile(q);
    assert.ok(got >= exact && got <= exact * 1.01 + 1, `q${q}: ${got} vs exact ${exact}`);
  }
  assert.equal(h.quantile(1), values.at(-1));
  for (let i = 1; i < 3000; i++) assert.equal(upperOf(i - 1) + 1, lowerOf(i), `bucket ${i}`);
  assert.equal(bucketOf(2 ** 33), bucketOf(2 ** 33 + 1));
});

function lowerOf(i: number): number {
  // The smallest value in bucket i: one more than the previous bucket's upper bound.
  let v = upperOf(i);
  while (v > 0 && bucketOf(v - 1) === i)
    v = Math.max(0, v - Math.max(1, Math.floor((v - upperOf(i - 1)) / 2)));
  return v;
}

test("answers are framed by Content-Length, across reads, and unframeable ones are refused", () => {
  const a = Buffer.from(
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
  );
  const first = answerEnd(a);
  assert.notEqual(first, -1);
  if (first === -1) return;
  assert.equal(first.status, 200);
  const second = answerEnd(a.subarray(first.end));
  assert.deepEqual(second, { end: a.length - first.end, status: 404 });
  assert.equal(answerEnd(a.subarray(0, first.end - 1)), -1);
  assert.throws(
    () => answerEnd(Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")),
    /without Content-Length/,
  );
});

/** A server that answers one request at a time, each after `serviceMs`: capacity 1000/serviceMs req/s. */
async function serialServer(
  serviceMs: number,
): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const queue: Socket[] = [];
  let busy = false;
  const sockets = new Set<Socket>();
  const next = () => {
    const s = queue.shift();
    if (s === undefined) {
      busy = false;
      return;
    }
    busy = true;
    setTimeout(() => {
      if (!s.destroyed) s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      next();
    }, serviceMs);
  };
  const server = createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    let buf = "";
    s.setEncoding("latin1");
    s.on("data", (d: string) => {
      buf += d;
      for (let at = buf.indexOf("\r\n\r\n"); at >= 0; at = buf.indexOf("\r\n\r\n")) {
        buf = buf.slice(at + 4);
        queue.push(s);
        if (!busy) next();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("no port");
  return { server, port: addr.port, sockets };
}

const GET: LoadSpec = { method: "GET", paths: ["/"], pipeline: 1, status: 200 };

test("open loop: under capacity latency is the service time; over capacity the waiting is charged (coordinated omission)", async () => {
  // 10 ms per request, one at a time: at most 100 req/s.
  const { server, port, sockets } = await serialServer(10);
  try {
    const under = await openLoop({ port, spec: GET, rate: 40, connections: 4, seconds: 1, timeoutMs: 2000 });
    assert.equal(under.socketErrors + under.timeouts + under.badStatus, 0, under.firstError);
    assert.ok(Math.abs(under.completed - 40) <= 4, `answered ${under.completed} of 40`);
    assert.ok(under.latency.p50Ms >= 9 && under.latency.p50Ms < 60, `p50 ${under.latency.p50Ms} ms`);

    // 200 req/s offered for 1.5 s: the schedule falls behind by ~0.5 s per second. Timed from the intended
    // send times, the last answers are ~0.7 s late; a closed-loop tool would see 4 connections × 10 ms = 40 ms.
    const over = await openLoop({
      port,
      spec: GET,
      rate: 200,
      connections: 4,
      seconds: 1.5,
      timeoutMs: 5000,
    });
    // (Timers fire late on a busy machine, so the capacity is at most 100 req/s, not exactly.)
    assert.ok(over.rps > 30 && over.rps < 110, `answered ${over.rps} req/s (capacity 100)`);
    assert.ok(over.latency.p99Ms > 400, `p99 ${over.latency.p99Ms} ms should include the waiting`);
    const secs = over.perSecond.filter((s) => s.count > 0);
    assert.ok(
      secs.at(-1)!.p99Ms > secs[0]!.p99Ms * 1.2,
      `latency grows while over capacity: ${JSON.stringify(secs)}`,
    );
    assert.ok(over.scheduled - over.sent > 100, `backlog ${over.scheduled - over.sent}`);

    const closed = await openLoop({ port, spec: GET, rate: 0, connections: 4, seconds: 1, timeoutMs: 2000 });
    assert.ok(closed.rps > 30 && closed.rps < 110, `closed loop ${closed.rps} req/s`);
    assert.ok(
      closed.latency.p99Ms < over.latency.p99Ms / 3,
      `closed loop p99 ${closed.latency.p99Ms} ms vs ${over.latency.p99Ms} ms open loop (no correction)`,
    );
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
});

test("open loop: an answer later than the timeout is counted, and the run goes on", async () => {
  const { server, port, sockets } = await serialServer(300);
  try {
    const r = await openLoop({ port, spec: GET, rate: 10, connections: 2, seconds: 1, timeoutMs: 100 });
    assert.ok(r.timeouts >= 3, `timeouts ${r.timeouts}`);
    assert.equal(r.completed, 0);
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
  }
});

test("a counted load run (wrk interrupted once it has sent them, or autocannon's amount) stops near the count", async () => {
  const open = new Set<Socket>();
  const server = createServer((s) => {
    open.add(s);
    s.on("close", () => open.delete(s));
    s.on("error", () => {});
    s.on("data", (d) => {
      const n = d.toString("latin1").split("\r\n\r\n").length - 1;
      s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".repeat(n));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("no port");
  const tool = pickTool(undefined);
  try {
    const t0 = Date.now();
    const r = await runLoad(tool, {
      port: addr.port,
      spec: GET,
      seconds: 60,
      amount: 3000,
      connections: 10,
      core: undefined,
    });
    assert.ok(Date.now() - t0 < 30_000, `${tool} ran to its 60-s cap instead of stopping at the count`);
    assert.ok(r.requests >= 2990 - 10 && r.requests <= 3000 + 10, `${tool}: ${r.requests} answers for 3000`);
  } finally {
    for (const s of open) s.destroy();
    server.close();
  }
});

test("the sections bench:soak and bench:latency write are replaced in place and kept by npm run bench", () => {
  const doc = "# Benchmarks\n\ntext\n";
  const one = replaceSection(doc, "soak", "## Soak\n\nv1");
  assert.match(one, /<!-- bench:soak -->\n## Soak\n\nv1\n<!-- \/bench:soak -->/);
  const two = replaceSection(replaceSection(one, "latency", "## Latency"), "soak", "## Soak\n\nv2");
  assert.equal(two.match(/bench:soak -->/g)?.length, 2);
  assert.ok(two.includes("v2") && !two.includes("v1"));
  assert.ok(two.indexOf("## Soak") < two.indexOf("## Latency"), "replaced in place");
  assert.deepEqual(
    markedSections(two).map((s) => s.split("\n")[1]),
    ["## Soak", "## Latency"],
  );
});
