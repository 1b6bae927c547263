// The debug-mode error page: the exception, its stack with the source lines around each frame of the
// app's own code, and the request. HTML for browsers, plain text for everything else. Only ever shown
// in debug mode (the CLI refuses debug mode on non-loopback addresses unless told otherwise); it is
// read-only — no interactive console, which is what made Werkzeug's debugger an RCE (LESSONS 13).

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Config } from "../config.ts";
import { escapeHtml as esc } from "../wrappers/html.ts";
import type { Request } from "../wrappers/request.ts";
import { Response } from "../wrappers/response.ts";

/** One frame of a V8 stack trace. */
export interface StackFrame {
  fn: string;
  file: string;
  line: number;
  column: number;
  /** The app's own code (not node_modules, not Node's internals, not phial itself). */
  own: boolean;
  /** Source lines around `line` (own frames only): [lineNumber, text]. */
  context: [number, string][] | undefined;
}

export interface RequestSummary {
  method: string;
  url: string;
  headers: Iterable<readonly [string, string]>;
  remoteAddr?: string;
}

const FRAME = /^\s*at (?:(.*?) \()?(.*?):(\d+):(\d+)\)?$/;

/** Files inside phial itself (src or dist): hidden from "own code" so the app's frames stand out. */
const PHIAL_ROOT = (() => {
  try {
    const here = fileURLToPath(import.meta.url);
    const i = here.lastIndexOf("/src/app/");
    const j = here.lastIndexOf("/dist/app/");
    const k = Math.max(i, j);
    return k === -1 ? undefined : here.slice(0, k + 1);
  } catch {
    return undefined;
  }
})();

function isOwn(file: string): boolean {
  if (file.startsWith("node:") || !file.includes("/")) return false;
  if (file.includes("/node_modules/")) return false;
  if (
    PHIAL_ROOT !== undefined &&
    (file.startsWith(`${PHIAL_ROOT}src/`) || file.startsWith(`${PHIAL_ROOT}dist/`))
  ) {
    return false;
  }
  return true;
}

/** Parses `err.stack` and reads `around` lines of source either side of each of the app's frames. */
export function parseStack(err: unknown, around = 3): StackFrame[] {
  const stack = err instanceof Error && typeof err.stack === "string" ? err.stack : "";
  const frames: StackFrame[] = [];
  const cache = new Map<string, string[] | null>();
  for (const text of stack.split("\n")) {
    const m = FRAME.exec(text);
    if (m === null) continue;
    let file = m[2]!;
    if (file.startsWith("file://")) {
      try {
        file = fileURLToPath(file);
      } catch {
        // keep it as written
      }
    }
    const line = Number(m[3]);
    const own = isOwn(file);
    let context: [number, string][] | undefined;
    if (own) {
      let lines = cache.get(file);
      if (lines === undefined) {
        try {
          lines = readFileSync(file, "utf8").split("\n");
        } catch {
          lines = null;
        }
        cache.set(file, lines);
      }
      if (lines !== null) {
        context = [];
        for (let n = Math.max(1, line - around); n <= Math.min(lines.length, line + around); n++) {
          context.push([n, lines[n - 1]!]);
        }
      }
    }
    frames.push({ fn: m[1] ?? "<anonymous>", file, line, column: Number(m[4]), own, context });
  }
  return frames;
}

function title(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return `Thrown value: ${String(err)}`;
}

/** The plain-text page, for curl and other non-browser clients. */
export function renderDebugText(err: unknown, req: RequestSummary): string {
  let s = `${title(err)}\n\n${req.method} ${req.url}\n\nTraceback (most recent call first):\n`;
  for (const f of parseStack(err)) {
    s += `  at ${f.fn} (${f.file}:${f.line}:${f.column})\n`;
    if (f.context !== undefined) {
      for (const [n, text] of f.context)
        s += `${n === f.line ? "  >" : "   "} ${String(n).padStart(5)} | ${text}\n`;
    }
  }
  const cause = err instanceof Error ? err.cause : undefined;
  if (cause !== undefined) s += `\nCaused by: ${title(cause)}\n`;
  return s;
}

/** The HTML page, for browsers. */
export function renderDebugHtml(err: unknown, req: RequestSummary): string {
  const frames = parseStack(err);
  let body = "";
  for (const f of frames) {
    body += `<li class="${f.own ? "own" : "lib"}"><div class="where"><b>${esc(f.fn)}</b> <span>${esc(f.file)}:${f.line}:${f.column}</span></div>`;
    if (f.context !== undefined) {
      body += "<pre>";
      for (const [n, text] of f.context) {
        body += `<span class="${n === f.line ? "hit" : ""}"><i>${n}</i>${esc(text)}</span>\n`;
      }
      body += "</pre>";
    }
    body += "</li>";
  }
  let headers = "";
  for (const [k, v] of req.headers) headers += `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`;
  const cause =
    err instanceof Error && err.cause !== undefined ? `<p>Caused by: ${esc(title(err.cause))}</p>` : "";
  return `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>${esc(title(err))} // Phial debug</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#222}
header{background:#8b1e1e;color:#fff;padding:16px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;opacity:.85}main{padding:8px 24px}
ol{list-style:none;padding:0}li{margin:10px 0;border:1px solid #ddd;border-radius:4px}
li.lib{opacity:.6}.where{padding:6px 10px;background:#f5f5f5}.where span{color:#666}
pre{margin:0;padding:6px 0;overflow:auto;font:12px/1.5 ui-monospace,monospace}
pre span{display:block;padding:0 10px}pre .hit{background:#ffe9a8}pre i{display:inline-block;width:4em;color:#999;font-style:normal}
table{border-collapse:collapse}th,td{text-align:left;padding:2px 8px;border-bottom:1px solid #eee;vertical-align:top}
footer{padding:12px 24px;color:#666;border-top:1px solid #eee}
</style>
<header><h1>${esc(title(err))}</h1><p>${esc(req.method)} ${esc(req.url)}</p></header>
<main>
${cause}
<h2>Traceback <small>(most recent call first; your code highlighted)</small></h2>
<ol>${body}</ol>
<h2>Request</h2>
<table>${req.remoteAddr === undefined ? "" : `<tr><th>Remote address</th><td>${esc(req.remoteAddr)}</td></tr>`}${headers}</table>
</main>
<footer>You see this page because the app runs in debug mode. Never run debug mode in production.</footer>
</html>
`;
}

/** Browsers get HTML; curl, fetch and friends get text. */
export function wantsHtml(accept: string | undefined): boolean {
  return accept?.includes("text/html") === true;
}

/** What decides whether the debug page may be shown. */
export type DebugSettings = Pick<Config, "debug" | "debugPageForRemote">;

/**
 * The debug page shows source code, so only in debug mode and only to a client on this machine
 * (loopback), unless `config.debugPageForRemote` says otherwise (e.g. a dev container).
 */
export function showDebugPage(config: DebugSettings, req: Request): boolean {
  if (config.debug !== true) return false;
  if (config.debugPageForRemote === true) return true;
  const a = req.remoteAddr;
  return a === "::1" || a.startsWith("127.") || a.startsWith("::ffff:127.");
}

/** Debug mode only: the exception, the stack with the app's source lines, the request. */
export function debugErrorResponse(err: unknown, req: Request): Response {
  const summary = { method: req.method, url: req.url, headers: req.headers, remoteAddr: req.remoteAddr };
  if (wantsHtml(req.header("accept"))) {
    return new Response(renderDebugHtml(err, summary), {
      status: 500,
      contentType: "text/html; charset=utf-8",
    });
  }
  return new Response(renderDebugText(err, summary), {
    status: 500,
    contentType: "text/plain; charset=utf-8",
  });
}
