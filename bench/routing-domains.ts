// Host and subdomain matching must not slow the common path: ns per `match` of the same rules in a
// router without domain matching (every app that doesn't ask for it) and with it (`matchDomain`, the
// rules spread over a few subdomains), side by side in one process, alternating rounds, best of each.
// Not a unit test. Run:
//   npm run bench:routing-domains
//   npm run bench:routing-domains -- --base /path/to/other/checkout   (also that checkout's router,
//                                                                       for a before/after of a change)

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Router } from "../src/app/routing/index.ts";

interface MatchOnly {
  match(path: string, method: string, qs: string): { kind: string };
}

const { values: args } = parseArgs({ options: { base: { type: "string" } } });

function fill<R extends { add(rule: string, o: never): unknown }>(router: R, domain?: string): R {
  const add = router.add.bind(router) as (rule: string, o: Record<string, unknown>) => unknown;
  for (let i = 0; i < 50; i++) {
    const d = domain === undefined ? {} : { domain };
    add(`/res${i}/list`, { endpoint: `s${i}${domain ?? ""}`, methods: ["GET"], data: i, ...d });
    add(`/res${i}/<int:id>/items/<name>`, {
      endpoint: `d${i}${domain ?? ""}`,
      methods: ["GET"],
      data: i,
      ...d,
    });
  }
  add("/hello", {
    endpoint: `hello${domain ?? ""}`,
    methods: ["GET"],
    data: 0,
    ...(domain === undefined ? {} : { domain }),
  });
  add("/user/<int:id>", {
    endpoint: `user${domain ?? ""}`,
    methods: ["GET"],
    data: 0,
    ...(domain === undefined ? {} : { domain }),
  });
  return router;
}

const cases = [
  { label: "hello (static)", path: "/hello" },
  { label: "/user/<int:id>", path: "/user/42" },
  { label: "2 converters", path: "/res25/42/items/widget" },
  { label: "404", path: "/nothing/here" },
];

type Row = { label: string; time: (path: string, n: number) => number };

function timer(fn: (path: string) => { kind: string }): (path: string, n: number) => number {
  return (path, n) => {
    let sink = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += fn(path).kind.length;
    const ns = Number(process.hrtime.bigint() - t0) / n;
    return sink < 0 ? -1 : ns;
  };
}

const plain = fill(new Router<number>());
const domains = new Router<number>({ domainMatching: true });
fill(domains, "");
fill(domains, "api");
fill(domains, "<user>");
const rows: Row[] = [
  { label: "this router, no domain matching", time: timer((p) => plain.match(p, "GET", "")) },
  {
    label: "this router, subdomain alice (3 domains)",
    time: timer((p) => domains.matchDomain("alice", p, "GET", "")),
  },
];
if (args.base !== undefined) {
  const url = pathToFileURL(resolve(args.base, "src/app/routing/index.ts")).href;
  const mod = (await import(url)) as { Router: new () => MatchOnly };
  const base = fill(new mod.Router() as MatchOnly & { add(rule: string, o: never): unknown });
  rows.unshift({
    label: `base (${args.base}), no domain matching`,
    time: timer((p) => base.match(p, "GET", "")),
  });
}

const ITER = 200_000;
const ROUNDS = 8;
const best = new Map<string, number>();
for (const r of rows) for (const c of cases) r.time(c.path, 20_000); // warm up
for (let round = 0; round < ROUNDS; round++) {
  for (const r of round % 2 === 0 ? rows : [...rows].reverse()) {
    for (const c of cases) {
      const key = `${r.label}\u0000${c.label}`;
      best.set(key, Math.min(best.get(key) ?? Number.POSITIVE_INFINITY, r.time(c.path, ITER)));
    }
  }
}
const first = rows[0]!;
const table: string[][] = [
  ["router", ...cases.map((c) => `${c.label} ns`), `÷ ${first.label.split(",")[0]}`],
];
for (const r of rows) {
  const ns = cases.map((c) => best.get(`${r.label}\u0000${c.label}`)!);
  const ratio =
    ns.reduce((a, x, i) => a + x / best.get(`${first.label}\u0000${cases[i]!.label}`)!, 0) / cases.length;
  table.push([r.label, ...ns.map((x) => x.toFixed(0)), `${ratio.toFixed(2)}×`]);
}
const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
for (const r of table)
  console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "));
console.log(
  "(best of 8 alternating rounds; the ratio is the mean of the per-case ratios; a shared machine is noisy)",
);
