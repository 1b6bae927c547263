// The debug-mode error page: the exception, its stack and the source lines around each frame.
// Only ever used when `config.debug` is on (never in production: it shows code and paths).

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { escapeHtml } from "./html.ts";

interface Frame {
  fn: string;
  file: string;
  line: number;
  col: number;
}

/** `at fn (file:line:col)` or `at file:line:col`. */
const FRAME = /^\s*at (?:(.*?) \()?(.*?):(\d+):(\d+)\)?$/;

function parseStack(stack: string): Frame[] {
  const out: Frame[] = [];
  for (const l of stack.split("\n")) {
    const m = FRAME.exec(l);
    if (m === null) continue;
    out.push({ fn: m[1] ?? "", file: m[2]!, line: Number(m[3]), col: Number(m[4]) });
  }
  return out;
}

const cache = new Map<string, string[] | null>();

function sourceLines(file: string): string[] | null {
  let lines = cache.get(file);
  if (lines !== undefined) return lines;
  lines = null;
  try {
    const path = file.startsWith("file:") ? fileURLToPath(file) : file;
    if (path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path)) lines = readFileSync(path, "utf8").split("\n");
  } catch {
    // not a readable file (node:internal, eval, …)
  }
  if (cache.size > 200) cache.clear();
  cache.set(file, lines);
  return lines;
}

/** An HTML page for an unhandled error, with up to 3 lines of source on each side of each app frame. */
export function renderDebugPage(err: unknown, where: string): string {
  const name = err instanceof Error ? err.name : typeof err;
  const message = err instanceof Error ? err.message : String(err);
  const stack = err instanceof Error ? (err.stack ?? "") : "";
  let frames = "";
  for (const f of parseStack(stack)) {
    const internal = f.file.startsWith("node:") || f.file.includes("/node_modules/");
    const lines = internal ? null : sourceLines(f.file);
    let src = "";
    if (lines !== null && f.line >= 1 && f.line <= lines.length) {
      const from = Math.max(1, f.line - 3);
      const to = Math.min(lines.length, f.line + 3);
      for (let n = from; n <= to; n++) {
        const cls = n === f.line ? ' class="cur"' : "";
        src += `<span${cls}>${String(n).padStart(5)}  ${escapeHtml(lines[n - 1]!)}</span>\n`;
      }
    }
    frames +=
      `<li${internal ? ' class="internal"' : ""}><code>${escapeHtml(f.fn || "(anonymous)")}</code> ` +
      `<small>${escapeHtml(f.file)}:${f.line}:${f.col}</small>` +
      (src === "" ? "" : `<pre>${src}</pre>`) +
      "</li>\n";
  }
  return (
    "<!doctype html>\n<html lang=en>\n<meta charset=utf-8>\n" +
    `<title>${escapeHtml(name)}: ${escapeHtml(message)} // Phial debugger</title>\n` +
    "<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}h1{font-size:1.4em;color:#a00}" +
    "pre{background:#f6f6f6;padding:.5em;overflow:auto}pre span.cur{background:#fdd;display:block}" +
    "li{margin:.6em 0}li.internal{opacity:.5}small{color:#666}.warn{color:#a60}</style>\n" +
    `<h1>${escapeHtml(name)}: ${escapeHtml(message)}</h1>\n` +
    `<p>While handling <code>${escapeHtml(where)}</code>.</p>\n` +
    `<p class=warn>Debug mode is on: this page shows source code. Never run with debug in production.</p>\n` +
    `<ol>\n${frames}</ol>\n<h2>Stack</h2>\n<pre>${escapeHtml(stack || message)}</pre>\n`
  );
}
