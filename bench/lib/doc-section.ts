import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

// Sections of docs/benchmarks.md that other bench scripts write (the soak, the open-loop latency):
// each sits between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`. `npm run bench` regenerates the
// file and keeps these sections; each script replaces only its own.

const OPEN = (name: string) => `<!-- bench:${name} -->`;
const CLOSE = (name: string) => `<!-- /bench:${name} -->`;
const ANY = /<!-- bench:([a-z0-9-]+) -->/g;

/** The marked sections of `doc`, in order, each with its markers. */
export function markedSections(doc: string): string[] {
  const out: string[] = [];
  for (const m of doc.matchAll(ANY)) {
    const name = m[1]!;
    const end = doc.indexOf(CLOSE(name), m.index);
    if (end >= 0) out.push(doc.slice(m.index, end + CLOSE(name).length));
  }
  return out;
}

/** `doc` with section `name` replaced by `body` (appended at the end when it isn't there yet). */
export function replaceSection(doc: string, name: string, body: string): string {
  const block = `${OPEN(name)}\n${body.trim()}\n${CLOSE(name)}`;
  const start = doc.indexOf(OPEN(name));
  const end = start < 0 ? -1 : doc.indexOf(CLOSE(name), start);
  if (start < 0 || end < 0) return `${doc.trimEnd()}\n\n${block}\n`;
  return doc.slice(0, start) + block + doc.slice(end + CLOSE(name).length);
}

/** Formats a markdown file as `npm run lint` (biome) wants it: aligned tables, blank lines around lists. */
export function formatMarkdown(file: string): void {
  const root = join(import.meta.dirname, "..", "..");
  const r = spawnSync(
    process.execPath,
    [join(root, "node_modules", "@biomejs", "biome", "bin", "biome"), "format", "--write", file],
    {
      cwd: root,
      encoding: "utf8",
    },
  );
  if (r.status !== 0) process.stderr.write(`biome could not format ${file}: ${r.stderr}\n`);
}

/** `--help` of a bench script: its header comment (up to the first blank line), without the `// `. */
export function printHeaderHelp(file: string): void {
  console.log(readFileSync(file, "utf8").split("\n\n")[0]!.replaceAll("// ", ""));
}
