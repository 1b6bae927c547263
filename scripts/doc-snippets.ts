// Keeps the TypeScript samples of docs/*.md identical to regions of docs/snippets/*.ts, which are
// type-checked (`npm run typecheck`) and run by test/docs/snippets.test.ts.
//
// In a page, a sample is a ```ts block right after a marker line `<!-- snippet: routing.ts#basic -->`.
// In a snippet file, a region is the lines between `// #region basic` and `// #endregion`; lines that
// end with `// hide` and `// biome-ignore` comments are left out of the page, and the rest is dedented.
//
//   npx tsx scripts/doc-snippets.ts           rewrite the samples from the regions
//   npx tsx scripts/doc-snippets.ts --check   exit 1 when a page is out of date

import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const DOCS = fileURLToPath(new URL("../docs/", import.meta.url));
const SNIPPETS = join(DOCS, "snippets");

/** Pages written by others whose samples need no marker (their authors keep them). */
export const UNMARKED_PAGES = new Set(["benchmarks.md", "deployment.md"]);

const MARKER = /^<!-- snippet: ([\w.-]+\.ts)#([\w-]+) -->$/;

/** The regions of one snippet file, by name, as the page shows them. */
export function regions(file: string): Map<string, string> {
  const lines = readFileSync(join(SNIPPETS, file), "utf8").split("\n");
  const out = new Map<string, string>();
  let name: string | undefined;
  let body: string[] = [];
  for (const line of lines) {
    const start = /^\s*\/\/ #region ([\w-]+)\s*$/.exec(line);
    if (start !== null) {
      if (name !== undefined) throw new Error(`${file}: region "${start[1]}" starts inside "${name}"`);
      name = start[1]!;
      body = [];
      continue;
    }
    if (/^\s*\/\/ #endregion\s*$/.test(line)) {
      if (name === undefined) throw new Error(`${file}: #endregion without #region`);
      if (out.has(name)) throw new Error(`${file}: region "${name}" defined twice`);
      out.set(name, dedent(body));
      name = undefined;
      continue;
    }
    if (name === undefined) continue;
    if (/\/\/ hide\s*$/.test(line) || /^\s*\/\/ biome-ignore/.test(line)) continue;
    body.push(line);
  }
  if (name !== undefined) throw new Error(`${file}: region "${name}" is not closed`);
  return out;
}

function dedent(lines: string[]): string {
  let min = Number.POSITIVE_INFINITY;
  for (const l of lines) if (l.trim() !== "") min = Math.min(min, l.length - l.trimStart().length);
  if (!Number.isFinite(min)) min = 0;
  const out = lines.map((l) => l.slice(min).trimEnd());
  while (out.length > 0 && out[0] === "") out.shift();
  while (out.length > 0 && out[out.length - 1] === "") out.pop();
  return out.join("\n");
}

export interface PageProblem {
  page: string;
  line: number;
  message: string;
}

/** Rewrites the samples of one page from the regions; returns the new text and the problems found. */
export function syncPage(page: string, text: string): { text: string; problems: PageProblem[] } {
  const lines = text.split("\n");
  const problems: PageProblem[] = [];
  const cache = new Map<string, Map<string, string>>();
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const m = MARKER.exec(line);
    if (m === null) {
      if (/^```(ts|typescript)\s*$/.test(line) && !UNMARKED_PAGES.has(page)) {
        const prev = lines[i - 1] ?? "";
        if (!MARKER.test(prev)) {
          problems.push({
            page,
            line: i + 1,
            message: "a ts sample without a `<!-- snippet: file.ts#region -->` marker",
          });
        }
      }
      out.push(line);
      continue;
    }
    out.push(line);
    const [, file, region] = m;
    let rs = cache.get(file!);
    if (rs === undefined) {
      try {
        rs = regions(file!);
      } catch (err) {
        problems.push({ page, line: i + 1, message: (err as Error).message });
        continue;
      }
      cache.set(file!, rs);
    }
    const code = rs.get(region!);
    if (code === undefined) {
      problems.push({ page, line: i + 1, message: `docs/snippets/${file} has no region "${region}"` });
      continue;
    }
    if (!/^```ts\s*$/.test(lines[i + 1] ?? "")) {
      problems.push({ page, line: i + 2, message: "a snippet marker must be followed by a ```ts block" });
      continue;
    }
    let end = i + 2;
    while (end < lines.length && lines[end] !== "```") end++;
    if (end === lines.length) {
      problems.push({ page, line: i + 2, message: "the ```ts block is not closed" });
      continue;
    }
    out.push("```ts", code, "```");
    i = end;
  }
  return { text: out.join("\n"), problems };
}

/** The pages with samples: docs/*.md and the README, as paths relative to docs/. */
export function pages(): string[] {
  const docs = readdirSync(DOCS)
    .filter((f) => f.endsWith(".md"))
    .sort();
  return [...docs, "../README.md"];
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes("--check");
  let failed = false;
  for (const page of pages()) {
    const path = join(DOCS, page);
    const text = readFileSync(path, "utf8");
    const r = syncPage(page, text);
    for (const p of r.problems) {
      console.error(`${join("docs", p.page)}:${p.line}: ${p.message}`);
      failed = true;
    }
    if (r.text !== text) {
      if (check) {
        console.error(
          `${join("docs", page)}: samples differ from docs/snippets (run npx tsx scripts/doc-snippets.ts)`,
        );
        failed = true;
      } else {
        writeFileSync(path, r.text);
        console.log(`updated ${join("docs", page)}`);
      }
    }
  }
  process.exit(failed ? 1 : 0);
}
