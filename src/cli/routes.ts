// `phial routes`: the app's URL rules as a table, like `flask routes`.

import { parseArgs } from "node:util";
import type { Output } from "./io.ts";
import { loadApp, parseAppSpec } from "./load-app.ts";
import { UsageError } from "./run.ts";

export const ROUTES_HELP = `Usage: phial routes [APP] [--sort endpoint|methods|rule|match] [--all-methods]

Lists the app's rules: endpoint, methods and rule. APP is found as for "phial run".
  --sort          order of the rows (default: match, the order rules were added)
  --all-methods   also show HEAD and OPTIONS
`;

export interface RouteRow {
  endpoint: string;
  methods: string;
  rule: string;
}

/** Formats rows as an aligned text table with a header and a rule line. */
export function formatTable(rows: readonly RouteRow[]): string {
  const head: RouteRow = { endpoint: "Endpoint", methods: "Methods", rule: "Rule" };
  const all = [head, ...rows];
  const w1 = Math.max(...all.map((r) => r.endpoint.length));
  const w2 = Math.max(...all.map((r) => r.methods.length));
  const w3 = Math.max(...all.map((r) => r.rule.length));
  const line = (r: RouteRow) => `${r.endpoint.padEnd(w1)}  ${r.methods.padEnd(w2)}  ${r.rule}`.trimEnd();
  return `${[line(head), `${"-".repeat(w1)}  ${"-".repeat(w2)}  ${"-".repeat(w3)}`, ...rows.map(line)].join("\n")}\n`;
}

export async function routesCommand(argv: readonly string[], out: Output): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        sort: { type: "string", short: "s" },
        "all-methods": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.values.help === true) {
    out.write(ROUTES_HELP);
    return 0;
  }
  const sort = (parsed.values.sort as string | undefined) ?? "match";
  if (!["endpoint", "methods", "rule", "match"].includes(sort)) {
    throw new UsageError(`--sort takes endpoint, methods, rule or match, not "${sort}"`);
  }
  process.env.PHIAL_RUN_FROM_CLI = "1";
  const app = await loadApp(parseAppSpec(parsed.positionals[0], process.cwd()));
  const all = parsed.values["all-methods"] === true;
  const rows: RouteRow[] = app.router.rules.map((r) => ({
    endpoint: r.endpoint,
    methods: [...r.methods]
      .filter((m) => all || (m !== "HEAD" && m !== "OPTIONS"))
      .sort()
      .join(", "),
    rule: r.rule,
  }));
  if (rows.length === 0) {
    out.write("No routes were registered.\n");
    return 0;
  }
  if (sort !== "match") {
    const key = sort as keyof RouteRow;
    rows.sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0));
  }
  out.write(formatTable(rows));
  return 0;
}
