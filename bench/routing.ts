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

/**
 * The best of three timed runs (after a warm-up), in ns per call: the least disturbed by other load.
 * The loop calls `match` itself (one call target, as the app's dispatch does), not a closure per case,
 * which would make the call site megamorphic and measure the benchmark instead of the router.
 */
function timeRouter(router: Router<number>, path: string, iterations: number): number {
  let sink = 0;
  for (let i = 0; i < 20_000; i++) sink += router.match(path, "GET", "").kind.length;
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < 3; run++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) sink += router.match(path, "GET", "").kind.length;
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / iterations);
  }
  if (sink < 0) console.log(sink);
  return best;
}

function timeNaive(naive: (p: string) => number, path: string, iterations: number): number {
  let sink = 0;
  for (let i = 0; i < 2_000; i++) sink += naive(path);
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < 3; run++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) sink += naive(path);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / iterations);
  }
  if (sink < -1e12) console.log(sink);
  return best;
}

const ITER = 500_000;
const rows: string[][] = [["routes", "case", "router ns/match", "naive regex list ns/match"]];
for (const n of [10, 1000]) {
  const { router, cases, naive } = build(n);
  for (const c of cases) {
    const kind = router.match(c.path, "GET", "").kind;
    if ((c.label === "404") !== (kind === "notFound")) throw new Error(`${c.path}: ${kind}`);
    const ns = timeRouter(router, c.path, ITER);
    const nv = timeNaive(naive, c.path, n >= 1000 ? ITER / 20 : ITER);
    rows.push([String(n), c.label, ns.toFixed(0), nv.toFixed(0)]);
  }
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows)
  console.log(r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "));
