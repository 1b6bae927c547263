// Router speed with 10 vs 1,000 routes: ns per match for the first, middle and last registered
// routes (static and dynamic) and a 404. Not a unit test. Run:
//   npx tsx --conditions=phial-source bench/routing.ts
// A naive "one regex per route, tried in order" matcher is measured beside it, for scale.

import { Router } from "../src/app/routing/index.ts";

interface Case {
  label: string;
  path: string;
}

function build(n: number): { router: Router<number>; cases: Case[]; naive: (p: string) => number } {
  const router = new Router<number>();
  const regexes: [RegExp, number][] = [];
  // Half static rules, half with converters, like an API: /res{i}/list and /res{i}/<int:id>/items/<name>.
  const half = n / 2;
  for (let i = 0; i < half; i++) {
    router.add(`/res${i}/list`, { endpoint: `s${i}`, methods: ["GET"], data: i });
    regexes.push([new RegExp(`^/res${i}/list$`), i]);
    router.add(`/res${i}/<int:id>/items/<name>`, { endpoint: `d${i}`, methods: ["GET"], data: i });
    regexes.push([new RegExp(`^/res${i}/(\\d+)/items/([^/]+)$`), i]);
  }
  const mid = Math.floor(half / 2);
  const last = half - 1;
  const cases: Case[] = [
    { label: "static first", path: "/res0/list" },
    { label: "static middle", path: `/res${mid}/list` },
    { label: "static last", path: `/res${last}/list` },
    { label: "dynamic first", path: "/res0/42/items/widget" },
    { label: "dynamic middle", path: `/res${mid}/42/items/widget` },
    { label: "dynamic last", path: `/res${last}/42/items/widget` },
    { label: "404", path: "/nothing/here/at/all" },
  ];
  const naive = (p: string) => {
    for (const [re, i] of regexes) if (re.test(p)) return i;
    return -1;
  };
  return { router, cases, naive };
}

/** ns per `match` over one timed run. The loop calls `match` itself: one call target, as in dispatch. */
function timeRouter(router: Router<number>, path: string, iterations: number): number {
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink += router.match(path, "GET", "").kind.length;
  const ns = Number(process.hrtime.bigint() - t0) / iterations;
  return sink < 0 ? -1 : ns;
}

function timeNaive(naive: (p: string) => number, path: string, iterations: number): number {
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink += naive(path);
  const ns = Number(process.hrtime.bigint() - t0) / iterations;
  return sink < -1e12 ? -1 : ns;
}

// Both sizes and every case are measured in alternating rounds, keeping the best of each: the JIT
// state and any load from other processes are shared fairly between them.
const ITER = 100_000;
const ROUNDS = 6;
const sizes = [10, 1000].map((n) => ({ n, ...build(n) }));
const best = new Map<string, [number, number]>();
for (const s of sizes) {
  for (const c of s.cases) {
    const kind = s.router.match(c.path, "GET", "").kind;
    if ((c.label === "404") !== (kind === "notFound")) throw new Error(`${c.path}: ${kind}`);
    timeRouter(s.router, c.path, 20_000); // warm up
  }
}
for (let round = 0; round < ROUNDS; round++) {
  for (const s of sizes) {
    for (const c of s.cases) {
      const key = `${s.n}\u0000${c.label}`;
      const ns = timeRouter(s.router, c.path, ITER);
      const nv = timeNaive(s.naive, c.path, s.n >= 1000 ? ITER / 50 : ITER);
      const prev = best.get(key) ?? [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
      best.set(key, [Math.min(prev[0], ns), Math.min(prev[1], nv)]);
    }
  }
}
const rows: string[][] = [["routes", "case", "router ns/match", "naive regex list ns/match"]];
for (const s of sizes) {
  for (const c of s.cases) {
    const [ns, nv] = best.get(`${s.n}\u0000${c.label}`)!;
    rows.push([String(s.n), c.label, ns.toFixed(0), nv.toFixed(0)]);
  }
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows)
  console.log(r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "));

// Building (urlFor) with 1,000 routes.
{
  const { router } = build(1000);
  const builds: [string, string, Record<string, unknown>][] = [
    ["build static", "s250", {}],
    ["build dynamic", "d250", { id: 42, name: "widget" }],
    ["build dynamic + query", "d250", { id: 42, name: "widget", q: "a b", page: 2 }],
  ];
  for (const [label, endpoint, values] of builds) {
    let sink = 0;
    for (let i = 0; i < 20_000; i++) sink += router.build(endpoint, values).length;
    let best = Number.POSITIVE_INFINITY;
    for (let run = 0; run < 3; run++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 200_000; i++) sink += router.build(endpoint, values).length;
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 200_000);
    }
    console.log(
      `${label.padEnd(22)} ${best.toFixed(0).padStart(5)} ns  ${router.build(endpoint, values)}${sink < 0 ? "!" : ""}`,
    );
  }
}
