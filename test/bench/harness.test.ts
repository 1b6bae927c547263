// The bench harness: the pieces whose mistakes would make a benchmark lie (counting requests in the
// ceiling, reading answers to check rows, medians, the report's verdicts), and one real row end to end.

import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { HeadCounter } from "../../bench/lib/head-counter.ts";
import { wrkScript } from "../../bench/lib/load.ts";
import { measureMemory } from "../../bench/lib/memory.ts";
import { ServerChild } from "../../bench/lib/proc.ts";
import { markdownReport, type Results, svgChart, targets } from "../../bench/lib/report.ts";
import { SERVER_ROWS } from "../../bench/lib/rows.ts";
import { checkRow, exchange, SERVER_SCENARIOS } from "../../bench/lib/scenarios.ts";
import { median, quantileSorted } from "../../bench/lib/stats.ts";
import { POST_BODY } from "../../bench/servers/fixtures.ts";

const BENCH = join(import.meta.dirname, "..", "..", "bench");

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STREAM = Buffer.from(
  [
    "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n",
    `POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: ${POST_BODY.length}\r\n\r\n${POST_BODY}`,
    "GET /x HTTP/1.1\r\nHost: a\r\nX-A: \r\r\n\r\n",
    "GET /y HTTP/1.1\r\n\r\n",
  ]
    .join("")
    .repeat(5),
  "latin1",
);

test("the canned ceiling counts one answer per request head however the bytes are split", () => {
  const whole = new HeadCounter();
  assert.equal(whole.count(STREAM), 20);
  const bytewise = new HeadCounter();
  let n = 0;
  for (let i = 0; i < STREAM.length; i++) n += bytewise.count(STREAM.subarray(i, i + 1));
  assert.equal(n, 20);
  const rnd = prng(7);
  for (let round = 0; round < 50; round++) {
    const c = new HeadCounter();
    let total = 0;
    for (let at = 0; at < STREAM.length; ) {
      const len = 1 + Math.floor(rnd() * 40);
      total += c.count(STREAM.subarray(at, at + len));
      at += len;
    }
    assert.equal(total, 20, `round ${round}`);
  }
});

async function byteServer(payload: Buffer): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    s.once("data", async () => {
      // One byte per write, so the reader sees every split.
      for (let i = 0; i < payload.length; i++) {
        s.write(payload.subarray(i, i + 1));
        if (i % 16 === 0) await new Promise((r) => setImmediate(r));
      }
    });
    s.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  return { server, port: typeof addr === "object" && addr !== null ? addr.port : 0 };
}

test("the row checker reads Content-Length and chunked answers delivered byte by byte", async () => {
  const payload = Buffer.from(
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello" +
      "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n" +
      "HTTP/1.1 204 No Content\r\n\r\n",
    "latin1",
  );
  const { server, port } = await byteServer(payload);
  try {
    const answers = await exchange(port, "GET / HTTP/1.1\r\n\r\n", 3);
    assert.deepEqual(
      answers.map((a) => [a.status, a.body.toString()]),
      [
        [200, "hello"],
        [404, "abcde"],
        [204, ""],
      ],
    );
  } finally {
    server.close();
  }
});

test("medians and percentiles", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
  const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(quantileSorted(sorted, 0.99), 99);
  assert.equal(quantileSorted(sorted, 0.5), 50);
});

test("the wrk script carries the POST body and the pipelined requests", () => {
  const post = SERVER_SCENARIOS.find((s) => s.id === "post-echo")!;
  const lua = wrkScript(post.load);
  assert.match(lua, /wrk\.method = "POST"/);
  assert.ok(lua.includes(`wrk.body = "${POST_BODY.replaceAll('"', '\\"')}"`));
  assert.match(lua, /wrk\.headers\["Content-Type"\] = "application\/json"/);
  const piped = wrkScript(SERVER_SCENARIOS.find((s) => s.id === "pipelined")!.load);
  assert.match(piped, /for i = 1, 16 do/);
  const routing = wrkScript(SERVER_SCENARIOS.find((s) => s.id === "routing")!.load);
  assert.equal((routing.match(/"\/api\//g) ?? []).length, 100);
});

function fakeResults(wire: number, floor: number, memWire: number, memFloor: number): Results {
  const rows = SERVER_ROWS.filter((r) => ["phial-wire", "node-http", "net-canned"].includes(r.id));
  const cell = (rps: number) => ({ rps: [rps], p99Ms: [1], cpuUs: [1e6 / rps], foreign: [0], retries: 0 });
  const hello = SERVER_SCENARIOS.find((s) => s.id === "hello")!;
  return {
    date: "2026-01-01T00:00:00Z",
    elapsedS: 1,
    machine: { cpu: "Test CPU", cores: 2, memGiB: 1, kernel: "Linux", node: "v20", loadTool: "wrk" },
    versions: { phial: "0.1.0" },
    settings: {
      quick: false,
      runs: 1,
      seconds: 1,
      warmup: 0,
      connections: 50,
      clientInflight: 50,
      memoryConnections: 10,
      pinned: true,
    },
    loadBefore: 0,
    loadAfter: 0,
    notes: [],
    scenarios: [hello],
    serverRows: rows,
    missingRows: [],
    server: { hello: { "phial-wire": cell(wire), "node-http": cell(floor), "net-canned": cell(200_000) } },
    clientRows: [],
    client: {},
    memoryRows: rows.filter((r) => r.id !== "net-canned"),
    memory: {
      "phial-wire": { rssPerConn: [memWire], heapPerConn: [1], connections: 10 },
      "node-http": { rssPerConn: [memFloor], heapPerConn: [1], connections: 10 },
    },
  };
}

test("the report states each target as met or not from the medians", () => {
  const good = targets(fakeResults(150_000, 70_000, 3000, 9000));
  assert.ok(Math.abs(good[0]!.value - 150 / 70) < 1e-9);
  const squeeze = (md: string) => md.replace(/ {2,}/g, " ");
  const md = squeeze(markdownReport(fakeResults(150_000, 70_000, 3000, 9000), "b.svg"));
  assert.match(md, /\| phial wire ÷ node:http, hello \| ≥ 1.5× \| 2.14× \| met \|/);
  assert.match(md, /\| phial wire memory per connection ÷ node:http \| ≤ 1× \| 0.33× \| met \|/);
  assert.match(md, /phial framework ÷ fastify, hello \| ≥ 1.5× \| — \| not measured/);
  const slow = squeeze(markdownReport(fakeResults(80_000, 70_000, 9900, 9000), "b.svg"));
  assert.match(slow, /\| phial wire ÷ node:http, hello \| ≥ 1.5× \| 1.14× \| NOT met \|/);
  assert.match(slow, /\| phial wire memory per connection ÷ node:http \| ≤ 1× \| 1.10× \| NOT met \|/);
});

test("memory per connection is compared without the young generation's pages, which the report shows apart", () => {
  const r = fakeResults(150_000, 70_000, 5000, 9000);
  // Two runs each: per run, RSS growth minus the young generation's share, then the median.
  r.memory["phial-wire"] = {
    rssPerConn: [5000, 7000],
    youngPerConn: [2000, 4000],
    heapPerConn: [1, 1],
    connections: 10,
  };
  r.memory["node-http"] = {
    rssPerConn: [9000, 9000],
    youngPerConn: [0, 0],
    heapPerConn: [1, 1],
    connections: 10,
  };
  const md = markdownReport(r, "b.svg").replace(/ {2,}/g, " ");
  assert.match(
    md,
    /\| phial wire memory per connection ÷ node:http \| ≤ 1× \| 0.33× \| met \| RSS growth with the young generation: 0.67× \|/,
  );
  // held, heap, × node:http, RSS growth, young gen (KiB): the median of 5000 and 7000 is 6000.
  assert.match(md, /\| phial wire \| 10 \| 2.93 \| 0.00 \| 0.33× \| 5.86 \| 2.93 \|/);
  assert.match(md, /\| node:http \| 10 \| 8.79 \| 0.00 \| 1.00× \| 8.79 \| 0.00 \|/);
});

test("the client target is stated by req/s and by CPU time per request", () => {
  const r = fakeResults(150_000, 70_000, 3000, 9000);
  r.client = {
    "phial-client": { rps: [60_000], p99Ms: [1], cpuUs: [16] },
    "undici-pool": { rps: [40_000], p99Ms: [1], cpuUs: [24] },
  };
  const md = markdownReport(r, "b.svg").replace(/ {2,}/g, " ");
  assert.match(md, /\| phial\/client ÷ undici Pool \| ≥ 1.2× \| 1.50× \| met \| by CPU\/req: 1.50× \|/);
});

test("the chart has one bar per measured row and escapes its labels", () => {
  const r = fakeResults(150_000, 70_000, 3000, 9000);
  r.serverRows = r.serverRows.map((row) =>
    row.id === "node-http" ? { ...row, label: "node <http> & co" } : row,
  );
  const svg = svgChart(r);
  assert.ok(svg.startsWith("<svg "));
  assert.ok(svg.trimEnd().endsWith("</svg>"));
  assert.equal((svg.match(/<rect x="160"/g) ?? []).length, 3, "one bar for each of the three rows");
  assert.ok(svg.includes("150.0k req/s · 2.14× node:http"));
  assert.ok(svg.includes(">node &lt;http&gt; &amp; co</text>"));
  for (const m of svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g))
    assert.ok(!/&(?!amp;|lt;|gt;|quot;)/.test(m[1]!));
});

test("a row answers its scenario, reports its CPU time, and declines what it has no app for", async () => {
  const file = join(BENCH, "servers/phial-wire.ts");
  const hello = SERVER_SCENARIOS.find((s) => s.id === "hello")!;
  const child = await ServerChild.start(file, "hello");
  assert.notEqual(child, "unsupported");
  if (child === "unsupported") return;
  try {
    child.cpuStart();
    assert.equal(await checkRow(child.port, hello, false), undefined);
    const cpu = await child.cpuStop();
    assert.ok(cpu.micros > 0 && cpu.rss > 0);
  } finally {
    await child.stop();
  }
  assert.equal(await ServerChild.start(file, "routing"), "unsupported");
});

test("the memory test reports a server's RSS, heap and young-generation growth per idle connection", async () => {
  const m = await measureMemory(join(BENCH, "servers/phial-framework.ts"), 100, undefined);
  assert.equal(m.connections, 100);
  // 100 idle connections hold JS objects (sockets, parsers); the young generation is reported apart.
  assert.ok(m.heapPerConn > 256, `heap per connection ${m.heapPerConn} B`);
  assert.ok(Number.isFinite(m.youngPerConn) && Number.isFinite(m.rssPerConn));
  const child = await ServerChild.start(join(BENCH, "servers/phial-wire.ts"), "idle", {
    nodeArgs: ["--expose-gc"],
  });
  if (child === "unsupported") assert.fail("phial-wire declined idle");
  try {
    const mem = await child.mem();
    assert.ok(mem.young > 0 && mem.young < mem.rss, `young ${mem.young} of RSS ${mem.rss}`);
  } finally {
    await child.stop();
  }
});

test("the validated POST: phial framework and fastify answer the receipt and refuse a bad order; others decline", async () => {
  const validated = SERVER_SCENARIOS.find((s) => s.id === "validated")!;
  const bad = JSON.stringify({ ...JSON.parse(validated.load.body!), priority: 12 });
  for (const row of ["phial-framework", "fastify"]) {
    const child = await ServerChild.start(join(BENCH, `servers/${row}.ts`), "validated");
    assert.notEqual(child, "unsupported", row);
    if (child === "unsupported") continue;
    try {
      assert.equal(await checkRow(child.port, validated, false), undefined, row);
      const raw =
        "POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
        `Content-Length: ${Buffer.byteLength(bad)}\r\n\r\n${bad}`;
      const [no] = await exchange(child.port, raw, 1);
      assert.ok(no!.status >= 400 && no!.status < 500, `${row} took an invalid order: ${no!.status}`);
    } finally {
      await child.stop();
    }
  }
  assert.equal(await ServerChild.start(join(BENCH, "servers/express.ts"), "validated"), "unsupported");
});

test("the canned ceiling answers 16 pipelined requests with 16 answers", async () => {
  const pipelined = SERVER_SCENARIOS.find((s) => s.id === "pipelined")!;
  const child = await ServerChild.start(join(BENCH, "servers/net-canned.ts"), "pipelined");
  if (child === "unsupported") assert.fail("net-canned declined pipelined");
  try {
    assert.equal(await checkRow(child.port, pipelined, false), undefined);
  } finally {
    await child.stop();
  }
});
