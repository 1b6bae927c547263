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
  /** The host or subdomain, under host or subdomain matching (as `flask routes`' Host/Subdomain column). */
  domain?: string;
  rule: string;
}

/**
 * Formats rows as an aligned text table with a header and a rule line; `domainHeader` ("Host" or
 * "Subdomain") adds the domain column before the rule, as `flask routes` does.
 */
export function formatTable(rows: readonly RouteRow[], domainHeader?: string): string {
  const head: RouteRow = {
    endpoint: "Endpoint",
    methods: "Methods",
    domain: domainHeader ?? "",
    rule: "Rule",
  };
  const all = [head, ...rows];
  const cols: ((r: RouteRow) => string)[] = [(r) => r.endpoint, (r) => r.methods];
  if (domainHeader !== undefined) cols.push((r) => r.domain ?? "");
  cols.push((r) => r.rule);
  const widths = cols.map((c) => Math.max(...all.map((r) => c(r).length)));
  const line = (r: RouteRow) =>
    cols
      .map((c, i) => (i === cols.length - 1 ? c(r) : c(r).padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return `${[line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n")}\n`;
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
    domain: r.domain,
    rule: r.rule,
  }));
  if (rows.length === 0) {
    out.write("No routes were registered.\n");
    return 0;
  }
  if (sort !== "match") {
    const key = sort as "endpoint" | "methods" | "rule";
    rows.sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0));
  }
  out.write(formatTable(rows, app.hostMatching ? "Host" : app.subdomainMatching ? "Subdomain" : undefined));
  return 0;
}
