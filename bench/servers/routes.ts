// The 1,000-route table for the routing scenario: an API of 250 resources (25 names in 10 versions),
// each with a list, a search (a static segment beside a parameter), an item and a sub-resource route.

export interface BenchRoute {
  /** Position in registration order; the body names it so the runner can tell a wrong match. */
  index: number;
  /** Path pieces: literal strings, or `null` for the integer parameter `id`. */
  parts: readonly (string | null)[];
}

const NAMES = [
  "users",
  "orders",
  "products",
  "invoices",
  "payments",
  "carts",
  "reviews",
  "tickets",
  "projects",
  "teams",
  "events",
  "files",
  "comments",
  "tags",
  "reports",
  "webhooks",
  "sessions",
  "devices",
  "regions",
  "plans",
  "coupons",
  "shipments",
  "suppliers",
  "warehouses",
  "notifications",
];

function makeRoutes(): BenchRoute[] {
  const out: BenchRoute[] = [];
  for (let v = 1; v <= 10; v++) {
    for (const name of NAMES) {
      const base = ["api", `v${v}`, name];
      // Static before parametric, so that first-match routers (Express, Koa) agree with the others.
      out.push({ index: out.length, parts: base });
      out.push({ index: out.length, parts: [...base, "search"] });
      out.push({ index: out.length, parts: [...base, null] });
      out.push({ index: out.length, parts: [...base, null, "history"] });
    }
  }
  return out;
}

export const ROUTES: readonly BenchRoute[] = makeRoutes();

/** The rule in `:id` syntax (Express, Fastify, Hono, Koa). */
export function colonPath(r: BenchRoute): string {
  return `/${r.parts.map((p) => (p === null ? ":id" : p)).join("/")}`;
}

/** The rule in Werkzeug syntax (phial). */
export function phialRule(r: BenchRoute): string {
  return `/${r.parts.map((p) => (p === null ? "<int:id>" : p)).join("/")}`;
}

/** The body a route answers; `id` is the parsed parameter (routes without one ignore it). */
export function routeBody(r: BenchRoute, id: number | undefined): string {
  return id === undefined ? `route ${r.index}` : `route ${r.index} id ${id}`;
}

/** Deterministic PRNG (mulberry32), so every run asks the same paths. */
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

export interface RouteSample {
  path: string;
  body: string;
}

/** The paths the load generator cycles through: spread over the whole table, last routes included. */
export function routeSamples(count = 100): RouteSample[] {
  const rnd = prng(0x5eed);
  const out: RouteSample[] = [];
  const last = ROUTES[ROUTES.length - 1]!;
  const picks = [last, ROUTES[ROUTES.length - 2]!];
  while (picks.length < count) picks.push(ROUTES[Math.floor(rnd() * ROUTES.length)]!);
  for (const r of picks) {
    const hasId = r.parts.includes(null);
    const id = hasId ? 1 + Math.floor(rnd() * 99_999) : undefined;
    const path = `/${r.parts.map((p) => (p === null ? String(id) : p)).join("/")}`;
    out.push({ path, body: routeBody(r, id) });
  }
  return out;
}
