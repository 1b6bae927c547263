// Turns the measurements into terminal tables, the Markdown report and its SVG chart.

import type { MachineInfo } from "./machine.ts";
import { CEILING, type ClientRow, FLOOR, type RowKind, type ServerRow } from "./rows.ts";
import type { ScenarioDef } from "./scenarios.ts";
import { fixed, int, median, percent, ratio, shortCount } from "./stats.ts";

export interface ServerCell {
  rps: number[];
  p99Ms: number[];
  cpuUs: number[];
  /** Share of the server's core used by other processes during each kept run. */
  foreign: number[];
  /** Runs measured again because the core was busy with other work. */
  retries: number;
  problem?: string;
  unsupported?: boolean;
}

export interface ClientCell {
  rps: number[];
  p99Ms: number[];
  cpuUs: number[];
  problem?: string;
}

export interface MemoryCell {
  rssPerConn: number[];
  heapPerConn: number[];
  /** The young generation's share of each rssPerConn (absent in results from before it was measured). */
  youngPerConn?: number[];
  connections: number;
  problem?: string;
}

export interface Settings {
  quick: boolean;
  runs: number;
  seconds: number;
  warmup: number;
  connections: number;
  clientInflight: number;
  memoryConnections: number;
  pinned: boolean;
}

export interface Results {
  date: string;
  elapsedS: number;
  machine: MachineInfo;
  versions: Record<string, string>;
  settings: Settings;
  loadBefore: number;
  loadAfter: number;
  notes: string[];
  scenarios: ScenarioDef[];
  serverRows: ServerRow[];
  missingRows: string[];
  server: Record<string, Record<string, ServerCell>>;
  clientRows: ClientRow[];
  client: Record<string, ClientCell>;
  memoryRows: ServerRow[];
  memory: Record<string, MemoryCell>;
  /** The side benches run by `npm run bench` (bench/ws, bench/compress): a title and their markdown. */
  extras?: { title: string; markdown: string }[];
}

// ---- figures ------------------------------------------------------------------------------------

export interface Figure {
  rps: number;
  p99Ms: number;
  cpuUs: number;
}

const NONE: Figure = { rps: Number.NaN, p99Ms: Number.NaN, cpuUs: Number.NaN };

export function serverFigure(r: Results, scenario: string, row: string): Figure {
  const c = r.server[scenario]?.[row];
  if (c === undefined || c.problem !== undefined || c.unsupported || c.rps.length === 0) return NONE;
  return { rps: median(c.rps), p99Ms: median(c.p99Ms), cpuUs: median(c.cpuUs) };
}

function clientFigure(r: Results, row: string): Figure {
  const c = r.client[row];
  if (c === undefined || c.problem !== undefined || c.rps.length === 0) return NONE;
  return { rps: median(c.rps), p99Ms: median(c.p99Ms), cpuUs: median(c.cpuUs) };
}

interface MemoryFigure {
  /** RSS growth per connection (median run). */
  rss: number;
  /** The young generation's part of it (NaN when not measured). */
  young: number;
  /** RSS growth without the young generation: what the connections hold (the compared figure). */
  held: number;
  heap: number;
}

function memoryFigure(r: Results, row: string): MemoryFigure {
  const c = r.memory[row];
  if (c === undefined || c.problem !== undefined || c.rssPerConn.length === 0)
    return { rss: Number.NaN, young: Number.NaN, held: Number.NaN, heap: Number.NaN };
  const young = c.youngPerConn?.length === c.rssPerConn.length ? c.youngPerConn : undefined;
  return {
    rss: median(c.rssPerConn),
    young: young === undefined ? Number.NaN : median(young),
    // Per run, then the median: the young generation's share varies from run to run.
    held: young === undefined ? median(c.rssPerConn) : median(c.rssPerConn.map((v, i) => v - young[i]!)),
    heap: median(c.heapPerConn),
  };
}

function cellNote(c: ServerCell | undefined): string {
  if (c === undefined) return "not run";
  if (c.unsupported) return "—";
  if (c.problem !== undefined) return "failed";
  return "";
}

// ---- tables -------------------------------------------------------------------------------------

type Table = { head: string[]; rows: string[][]; align: ("l" | "r")[] };

function serverTable(r: Results, def: ScenarioDef): Table {
  const floor = serverFigure(r, def.id, FLOOR);
  const ceil = serverFigure(r, def.id, CEILING);
  const rows: string[][] = [];
  for (const row of r.serverRows) {
    const c = r.server[def.id]?.[row.id];
    const f = serverFigure(r, def.id, row.id);
    const note = cellNote(c);
    if (note !== "") {
      if (note === "—") continue;
      rows.push([row.label, note, "", "", "", "", ""]);
      continue;
    }
    rows.push([
      row.label,
      int(f.rps),
      // wrk times a pipelined batch, not each request in it: no per-request percentile to show.
      def.load.pipeline > 1 ? "—" : fixed(f.p99Ms, 2),
      fixed(f.cpuUs, 1),
      row.id === FLOOR ? "1.00×" : ratio(f.rps / floor.rps),
      row.id === FLOOR ? "1.00×" : ratio(floor.cpuUs / f.cpuUs),
      percent(f.rps / ceil.rps),
    ]);
  }
  return {
    head: ["row", "req/s", "p99 ms", "CPU µs/req", "× node:http", "× node:http (CPU)", "of ceiling"],
    rows,
    align: ["l", "r", "r", "r", "r", "r", "r"],
  };
}

function summaryTable(r: Results): Table {
  const head = ["row", ...r.scenarios.map((s) => s.title)];
  const rows = r.serverRows.map((row) => [
    row.label,
    ...r.scenarios.map((s) => {
      const note = cellNote(r.server[s.id]?.[row.id]);
      return note !== "" ? note : shortCount(serverFigure(r, s.id, row.id).rps);
    }),
  ]);
  return { head, rows, align: ["l", ...r.scenarios.map(() => "r" as const)] };
}

function clientTable(r: Results): Table {
  const undici = clientFigure(r, "undici-pool");
  const rows: string[][] = [];
  for (const row of r.clientRows) {
    const c = r.client[row.id];
    if (c?.problem !== undefined) {
      rows.push([row.label, "failed", "", "", ""]);
      continue;
    }
    const f = clientFigure(r, row.id);
    rows.push([row.label, int(f.rps), fixed(f.p99Ms, 2), fixed(f.cpuUs, 1), ratio(f.rps / undici.rps)]);
  }
  return {
    head: ["client", "req/s", "p99 ms", "client CPU µs/req", "× undici"],
    rows,
    align: ["l", "r", "r", "r", "r"],
  };
}

function memoryTable(r: Results): Table {
  const floor = memoryFigure(r, FLOOR);
  const rows: string[][] = [];
  for (const row of r.memoryRows) {
    const c = r.memory[row.id];
    if (c?.problem !== undefined) {
      rows.push([row.label, "failed", "", "", "", "", ""]);
      continue;
    }
    const m = memoryFigure(r, row.id);
    rows.push([
      row.label,
      int(c?.connections ?? Number.NaN),
      fixed(m.held / 1024, 2),
      fixed(m.heap / 1024, 2),
      ratio(m.held / floor.held),
      fixed(m.rss / 1024, 2),
      fixed(m.young / 1024, 2),
    ]);
  }
  return {
    head: [
      "server",
      "idle connections",
      "held KiB/conn",
      "JS heap KiB/conn",
      "× node:http",
      "RSS growth KiB/conn",
      "young gen KiB/conn",
    ],
    rows,
    align: ["l", "r", "r", "r", "r", "r", "r"],
  };
}

interface Target {
  what: string;
  goal: number;
  /** Measured value (a ratio); NaN when not measured. */
  value: number;
  /** Lower is better (memory). */
  atMost?: boolean;
  detail: string;
}

export function targets(r: Results): Target[] {
  const s = (sc: string, row: string) => serverFigure(r, sc, row);
  const byRps = (sc: string, a: string, b: string) => s(sc, a).rps / s(sc, b).rps;
  const byCpu = (sc: string, a: string, b: string) => s(sc, b).cpuUs / s(sc, a).cpuUs;
  const cpuNote = (sc: string, a: string, b: string) => `by CPU/req: ${ratio(byCpu(sc, a, b))}`;
  const mem = memoryFigure(r, "phial-wire").held / memoryFigure(r, FLOOR).held;
  const memFw = memoryFigure(r, "phial-framework").held / memoryFigure(r, FLOOR).held;
  const rawNote = (row: string) =>
    `RSS growth with the young generation: ${ratio(memoryFigure(r, row).rss / memoryFigure(r, FLOOR).rss)}`;
  return [
    {
      what: "phial wire ÷ node:http, hello",
      goal: 1.5,
      value: byRps("hello", "phial-wire", FLOOR),
      detail: cpuNote("hello", "phial-wire", FLOOR),
    },
    {
      what: "phial wire ÷ ceiling, hello",
      goal: 0.8,
      value: byRps("hello", "phial-wire", CEILING),
      detail: cpuNote("hello", "phial-wire", CEILING),
    },
    {
      what: "phial wire ÷ node:http, pipelined ×16",
      goal: 3,
      value: byRps("pipelined", "phial-wire", FLOOR),
      detail: cpuNote("pipelined", "phial-wire", FLOOR),
    },
    {
      what: "phial wire ÷ node:http, POST 1 KiB echo",
      goal: 1.5,
      value: byRps("post-echo", "phial-wire", FLOOR),
      detail: cpuNote("post-echo", "phial-wire", FLOOR),
    },
    {
      what: "phial framework ÷ fastify, hello",
      goal: 1.5,
      value: byRps("hello", "phial-framework", "fastify"),
      detail: cpuNote("hello", "phial-framework", "fastify"),
    },
    {
      what: "phial framework ÷ fastify, JSON + param",
      goal: 1.5,
      value: byRps("json-param", "phial-framework", "fastify"),
      detail: cpuNote("json-param", "phial-framework", "fastify"),
    },
    {
      what: "phial framework ÷ fastify, validated POST",
      goal: 1.3,
      value: byRps("validated", "phial-framework", "fastify"),
      detail: cpuNote("validated", "phial-framework", "fastify"),
    },
    {
      what: "phial/client ÷ undici Pool",
      goal: 1.2,
      value: clientFigure(r, "phial-client").rps / clientFigure(r, "undici-pool").rps,
      // Each client keeps its core busy (req/s × CPU µs/req ≈ 1 s per s in the runs so far), so the CPU
      // ratio is the same comparison, less swayed by other work sharing the core or the machine.
      detail: `by CPU/req: ${ratio(clientFigure(r, "undici-pool").cpuUs / clientFigure(r, "phial-client").cpuUs)}`,
    },
    {
      what: "phial wire memory per connection ÷ node:http",
      goal: 1,
      value: mem,
      atMost: true,
      detail: rawNote("phial-wire"),
    },
    {
      what: "phial framework memory per connection ÷ node:http",
      goal: 1,
      value: memFw,
      atMost: true,
      detail: rawNote("phial-framework"),
    },
  ];
}

function targetTable(r: Results): Table {
  const rows = targets(r).map((t) => {
    const met = !Number.isFinite(t.value)
      ? "not measured"
      : (t.atMost ? t.value <= t.goal : t.value >= t.goal)
        ? "met"
        : "NOT met";
    const goal = `${t.atMost ? "≤" : "≥"} ${t.goal < 1 && !t.atMost ? percent(t.goal) : `${t.goal}×`}`;
    const value = t.goal < 1 && !t.atMost ? percent(t.value) : ratio(t.value);
    return [t.what, goal, value, met, t.detail];
  });
  return { head: ["target", "goal", "measured (req/s)", "", "note"], rows, align: ["l", "r", "r", "l", "l"] };
}

function textTable(t: Table): string {
  const widths = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? "").length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (t.align[i] === "r" ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [fmt(t.head), widths.map((w) => "-".repeat(w)).join("  "), ...t.rows.map(fmt)].join("\n");
}

/** A Markdown table with padded columns (as Biome formats Markdown, so the generated file stays lint-clean). */
function mdTable(t: Table): string {
  const esc = (x: string) => x.replaceAll("|", "\\|");
  const len = (x: string) => [...x].length;
  const head = t.head.map(esc);
  const rows = t.rows.map((r) => t.head.map((_, i) => esc(r[i] ?? "")));
  const widths = head.map((h, i) => Math.max(3, len(h), ...rows.map((r) => len(r[i]!))));
  const pad = (x: string, i: number) => {
    const fill = " ".repeat(widths[i]! - len(x));
    return t.align[i] === "r" ? fill + x : x + fill;
  };
  const line = (cells: string[]) => `| ${cells.map(pad).join(" | ")} |`;
  const sep = `| ${widths.map((w, i) => (t.align[i] === "r" ? `${"-".repeat(w - 1)}:` : "-".repeat(w))).join(" | ")} |`;
  return [line(head), sep, ...rows.map(line)].join("\n");
}

export function terminalReport(r: Results): string {
  const out: string[] = [];
  for (const def of r.scenarios) {
    out.push(`\n${def.title} — ${def.what.replaceAll("`", "")}`, textTable(serverTable(r, def)));
  }
  out.push("\nreq/s by scenario (median)", textTable(summaryTable(r)));
  if (r.clientRows.length > 0)
    out.push("\nclients: GET /hello, 50 in flight, keep-alive", textTable(clientTable(r)));
  if (r.memoryRows.length > 0) out.push("\nmemory per idle keep-alive connection", textTable(memoryTable(r)));
  out.push("\ntargets", textTable(targetTable(r)));
  if (r.missingRows.length > 0) out.push(`\nrows skipped (file missing): ${r.missingRows.join(", ")}`);
  for (const n of r.notes) out.push(`note: ${n}`);
  for (const x of r.extras ?? []) out.push(`\n${x.title}`, x.markdown);
  return out.join("\n");
}

export function markdownReport(r: Results, svgName: string): string {
  const s = r.settings;
  const m = r.machine;
  const out: string[] = [];
  out.push(
    "# Benchmarks",
    "",
    "Generated by `npm run bench` (bench/run.ts); every number below was measured in that run, on the machine",
    "described here. Re-run it on yours: absolute numbers move with the hardware, the ratios much less.",
    "",
    `![Server throughput as a share of the canned ceiling](${svgName})`,
    "",
    "## How it was measured",
    "",
    `- Date: ${r.date}, run time ${Math.round(r.elapsedS)} s${s.quick ? " (**--quick**: one short run, not for quoting)" : ""}.`,
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, ${m.kernel}; Node ${m.node}; load by ${m.loadTool}.`,
    s.pinned
      ? "- Each server runs alone on core 0 (`taskset -c 0`); the load generator, the runner and the client drivers on core 1."
      : "- `taskset` was not available: processes were **not** pinned to cores.",
    `- Each server scenario: ${s.connections} keep-alive connections, ${s.warmup} s warm-up, then ${s.runs} run(s) of ${s.seconds} s,`,
    "  interleaved across the rows (run 1 of every row, then run 2 …, in a rotating order). Tables show the median run.",
    "- **req/s** counts the responses the load generator received; **p99** is its 99th-percentile latency.",
    "- **CPU µs/req** is the server process's own CPU time (user + system, `process.cpuUsage()`) over the run,",
    "  divided by the responses. When the load generator rather than the server is the bottleneck (near the",
    "  ceiling), req/s understates a fast server and this is the fair figure; `× node:http (CPU)` compares it.",
    "- **of ceiling**: req/s as a share of the `node:net` row, which writes a canned response per request without",
    "  parsing anything: what this machine and load generator can do at best.",
    "- Before measuring, every row's answers are checked (status, body, 16 pipelined answers, 12 of the routes):",
    "  a row that answers wrong is shown as failed, not measured.",
    `- The machine is shared: other work was running (load average ${r.loadBefore.toFixed(2)} at the start,`,
    `  ${r.loadAfter.toFixed(2)} at the end). Each run starts in a lull (both cores under 5% busy for 0.4 s, waiting`,
    "  up to 20 s) and records how much of core 0 other processes used meanwhile; a run where that exceeded 10% was",
    "  measured again (at most twice, 40 times in all). The notes give the count and the worst share kept.",
    "",
  );
  out.push("## Server scenarios", "");
  for (const def of r.scenarios) {
    out.push(`### ${def.title}`, "", def.what, "", mdTable(serverTable(r, def)), "");
  }
  out.push("### All scenarios, req/s (median)", "", mdTable(summaryTable(r)), "");
  out.push(
    "`—` in req/s: the row has no equivalent app (no router on the bare wire or in node:http). `—` in p99 for the",
    "pipelined scenario: wrk times a batch of 16, not each request, so there is no per-request percentile.",
    "",
  );
  if (r.clientRows.length > 0) {
    out.push(
      "## Client",
      "",
      `\`GET /hello\` against the canned server (core 0), ${s.clientInflight} requests in flight over keep-alive`,
      "connections, each client in its own process on core 1; body read as text and checked.",
      "**client CPU µs/req** is the client process's CPU time per request.",
      "",
      mdTable(clientTable(r)),
      "",
    );
  }
  if (r.memoryRows.length > 0) {
    out.push(
      "## Memory per idle connection",
      "",
      `${s.memoryConnections.toLocaleString("en-US")} keep-alive connections, each sends one request and then idles;`,
      "server RSS (after a full GC) with them open minus before, divided by their number: **RSS growth**.",
      "**young gen** is the part of it that is V8's young generation: the GC empties it but keeps its pages,",
      "and how many were touched depends on how much the process allocated (at start-up too), not on what",
      "the connections hold. **held** is RSS growth without it, the figure compared to node:http.",
      "",
      mdTable(memoryTable(r)),
      "",
    );
  }
  out.push("## Targets (issue #7)", "", mdTable(targetTable(r)), "");
  out.push(
    "## Versions",
    "",
    mdTable({ head: ["package", "version"], rows: Object.entries(r.versions), align: ["l", "l"] }),
    "",
  );
  const notes = [...r.notes];
  if (r.missingRows.length > 0)
    notes.push(`Rows not measured (their file is not on this branch yet): ${r.missingRows.join(", ")}.`);
  for (const def of r.scenarios) {
    for (const row of r.serverRows) {
      const c = r.server[def.id]?.[row.id];
      if (c?.problem !== undefined) notes.push(`${def.title} / ${row.label}: ${c.problem}`);
    }
  }
  for (const row of r.clientRows) {
    const p = r.client[row.id]?.problem;
    if (p !== undefined) notes.push(`client ${row.label}: ${p}`);
  }
  for (const row of r.memoryRows) {
    const p = r.memory[row.id]?.problem;
    if (p !== undefined) notes.push(`memory ${row.label}: ${p}`);
  }
  for (const x of r.extras ?? []) out.push(`## ${x.title}`, "", x.markdown, "");
  if (notes.length > 0) {
    out.push("## Notes", "");
    for (const n of notes) out.push(`- ${n}`);
    out.push("");
  }
  return out.join("\n");
}

// ---- chart --------------------------------------------------------------------------------------

const COLORS: Record<RowKind, string[]> = {
  phial: ["#d9480f", "#f08c00"],
  floor: ["#343a40"],
  peer: ["#4263eb", "#1098ad", "#37b24d", "#ae3ec9"],
  ceiling: ["#adb5bd"],
};

function colorOf(rows: readonly { id: string; kind: RowKind }[], id: string): string {
  const row = rows.find((x) => x.id === id)!;
  const same = rows.filter((x) => x.kind === row.kind);
  const palette = COLORS[row.kind];
  return palette[same.indexOf(row) % palette.length]!;
}

function xml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

/**
 * One bar per row and scenario: length = req/s as a share of the canned ceiling, label = req/s and the
 * ratio to node:http. Clients follow as a share of the fastest client.
 */
export function svgChart(r: Results): string {
  const W = 1000;
  const labelW = 150;
  const plotX = labelW + 10;
  const plotW = 560;
  const barH = 13;
  const gap = 3;
  const groupGap = 18;
  const font = "font-family=\"system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif\"";
  const parts: string[] = [];
  let y = 0;
  const legendRows = r.serverRows;
  y += 24;
  parts.push(
    `<text x="0" y="16" font-size="15" font-weight="600" ${font}>Server req/s as a share of the node:net canned ceiling (longer is better)</text>`,
  );
  // legend
  let lx = 0;
  y += 8;
  for (const row of legendRows) {
    const w = 22 + row.label.length * 6.6;
    if (lx + w > W) {
      lx = 0;
      y += 18;
    }
    parts.push(
      `<rect x="${lx}" y="${y}" width="12" height="12" fill="${colorOf(legendRows, row.id)}"/>`,
      `<text x="${lx + 16}" y="${y + 10.5}" font-size="12" ${font}>${xml(row.label)}</text>`,
    );
    lx += w + 12;
  }
  y += 30;
  const gridTop = y;
  for (const def of r.scenarios) {
    const ceil = serverFigure(r, def.id, CEILING).rps;
    const floor = serverFigure(r, def.id, FLOOR).rps;
    const present = r.serverRows.filter((row) => Number.isFinite(serverFigure(r, def.id, row.id).rps));
    if (present.length === 0) continue;
    const scale = Number.isFinite(ceil)
      ? ceil
      : Math.max(...present.map((row) => serverFigure(r, def.id, row.id).rps));
    parts.push(`<text x="0" y="${y + 11}" font-size="13" font-weight="600" ${font}>${xml(def.title)}</text>`);
    let by = y;
    for (const row of present) {
      const f = serverFigure(r, def.id, row.id);
      const share = f.rps / scale;
      const w = Math.max(1, Math.min(1.05, share) * plotW);
      const vsFloor =
        row.id === FLOOR || !Number.isFinite(floor) ? "" : ` · ${ratio(f.rps / floor)} node:http`;
      parts.push(
        `<rect x="${plotX}" y="${by}" width="${w.toFixed(1)}" height="${barH}" fill="${colorOf(legendRows, row.id)}"/>`,
        `<text x="${(plotX + w + 5).toFixed(1)}" y="${by + 10.5}" font-size="11" ${font}>${shortCount(f.rps)} req/s${vsFloor}</text>`,
      );
      by += barH + gap;
    }
    y = by + groupGap;
  }
  // 25% grid lines over the server part
  for (let i = 0; i <= 4; i++) {
    const x = plotX + (plotW * i) / 4;
    parts.unshift(
      `<line x1="${x}" y1="${gridTop - 4}" x2="${x}" y2="${y - groupGap}" stroke="#dee2e6" stroke-width="1"/>`,
      `<text x="${x}" y="${gridTop - 8}" font-size="10" fill="#868e96" text-anchor="middle" ${font}>${i * 25}%</text>`,
    );
  }
  const clients = r.clientRows.filter((row) => Number.isFinite(clientFigure(r, row.id).rps));
  if (clients.length > 0) {
    y += 8;
    parts.push(
      `<text x="0" y="${y + 12}" font-size="15" font-weight="600" ${font}>Client req/s, GET with 50 in flight (share of the fastest client)</text>`,
    );
    y += 28;
    const best = Math.max(...clients.map((row) => clientFigure(r, row.id).rps));
    const undici = clientFigure(r, "undici-pool").rps;
    for (const row of clients) {
      const f = clientFigure(r, row.id);
      const w = Math.max(1, (f.rps / best) * plotW);
      const color = row.kind === "phial" ? COLORS.phial[0]! : COLORS.peer[clients.indexOf(row) % 4]!;
      const vs =
        row.id === "undici-pool" || !Number.isFinite(undici) ? "" : ` · ${ratio(f.rps / undici)} undici`;
      parts.push(
        `<text x="0" y="${y + 10.5}" font-size="12" ${font}>${xml(row.label)}</text>`,
        `<rect x="${plotX + 40}" y="${y}" width="${(w * 0.93).toFixed(1)}" height="${barH}" fill="${color}"/>`,
        `<text x="${(plotX + 40 + w * 0.93 + 5).toFixed(1)}" y="${y + 10.5}" font-size="11" ${font}>${shortCount(f.rps)} req/s${vs}</text>`,
      );
      y += barH + gap + 2;
    }
    y += groupGap;
  }
  const H = Math.ceil(y + 4);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}
