// The debug-mode error page: the exception, its stack with the source lines around each frame of the
// app's own code, and the request. HTML for browsers, plain text for everything else. Only ever shown
// in debug mode (the CLI refuses debug mode on non-loopback addresses unless told otherwise); it is
// read-only — no interactive console, which is what made Werkzeug's debugger an RCE (LESSONS 13).

import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { isAbsolute, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Config } from "../config.ts";
import { escapeHtml as esc } from "../wrappers/html.ts";
import { hostMatches, hostName } from "../wrappers/proxy.ts";
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

/** What the page reads source from: script files only, never a dotfile or a data file. */
const SOURCE_EXT = /\.(?:[cm]?[jt]s|[jt]sx)$/;

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

/** True when `file` is a script under `root` (lexically, no `..` segment): the only files read. */
function mayRead(file: string, root: string | undefined): boolean {
  if (!isAbsolute(file) || !SOURCE_EXT.test(file)) return false;
  if (root === undefined) return true;
  const r = resolve(root);
  const f = resolve(file);
  if (f !== file) return false; // a `..` or `.` segment: not a path V8 writes
  return f.startsWith(r.endsWith(sep) ? r : r + sep);
}

/**
 * `err.stack` starts with V8's `String(err)` as it was when the stack was first read; the message can
 * hold anything, newlines and text shaped like frames included (`\n    at x (/etc/passwd:4:1)`).
 * Frames are read only below that header: returns where they start, or -1 when the header is not the
 * error's `String(err)` now (its message or name changed after the stack was read, or the stack was
 * replaced) — then no line can be told apart from the message.
 */
function framesStart(err: Error, stack: string): number {
  let headers: string[];
  try {
    headers = [Error.prototype.toString.call(err)];
    // Node's own errors are stacked as `TypeError [ERR_X]: message`.
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string") {
      const msg = String(err.message);
      headers.push(`${String(err.name)} [${code}]${msg === "" ? "" : `: ${msg}`}`);
    }
  } catch {
    return -1;
  }
  for (const h of headers) {
    if (stack.startsWith(h) && (stack.length === h.length || stack[h.length] === "\n")) return h.length;
  }
  return -1;
}

/**
 * One line of a V8 stack, `    at fn (file:line:col)` or `    at file:line:col`, parsed without a
 * regex (a line can be long: linear time whatever it holds).
 */
function parseFrameLine(text: string): Omit<StackFrame, "own" | "context"> | undefined {
  let i = 0;
  while (i < text.length && (text[i] === " " || text[i] === "\t")) i++;
  if (!text.startsWith("at ", i)) return undefined;
  let rest = text.slice(i + 3);
  let fn: string | undefined;
  if (rest.endsWith(")")) {
    const open = rest.indexOf(" (");
    if (open === -1) return undefined;
    fn = rest.slice(0, open);
    rest = rest.slice(open + 2, -1);
  }
  const c2 = rest.lastIndexOf(":");
  const c1 = c2 <= 0 ? -1 : rest.lastIndexOf(":", c2 - 1);
  if (c1 <= 0) return undefined;
  const lineText = rest.slice(c1 + 1, c2);
  const colText = rest.slice(c2 + 1);
  if (!isDigits(lineText) || !isDigits(colText)) return undefined;
  return {
    fn: fn ?? "<anonymous>",
    file: rest.slice(0, c1),
    line: Number(lineText),
    column: Number(colText),
  };
}

function isDigits(s: string): boolean {
  if (s.length === 0 || s.length > 10) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

export interface ParseStackOptions {
  /** Source lines shown either side of each frame's line. Default 3. */
  around?: number;
  /**
   * The app's folder: source is read only from script files under it (`app.root`). Undefined: any
   * script file a real frame names.
   */
  root?: string;
}

/**
 * Parses `err.stack` — the frames V8 wrote, below the message, never lines of the message — and reads
 * the source around each of the app's frames.
 */
export function parseStack(err: unknown, options: ParseStackOptions | number = {}): StackFrame[] {
  const { around = 3, root } = typeof options === "number" ? { around: options } : options;
  const frames: StackFrame[] = [];
  if (!(err instanceof Error) || typeof err.stack !== "string") return frames;
  const stack = err.stack;
  const start = framesStart(err, stack);
  // The header can't be found: show the frames V8 wrote last (those below any frame-like message
  // text too), but read no file for any of them.
  const readSource = start !== -1;
  const lines = stack.slice(Math.max(0, start)).split("\n");
  let from = 0;
  if (!readSource) {
    from = lines.length;
    while (from > 0 && parseFrameLine(lines[from - 1]!) !== undefined) from--;
  }
  const cache = new Map<string, string[] | null>();
  for (let li = from; li < lines.length; li++) {
    const text = lines[li]!;
    const m = parseFrameLine(text);
    if (m === undefined) continue;
    let file = m.file;
    if (file.startsWith("file://")) {
      try {
        file = fileURLToPath(file);
      } catch {
        // keep it as written
      }
    }
    const line = m.line;
    const own = isOwn(file);
    let context: [number, string][] | undefined;
    if (own && readSource && mayRead(file, root)) {
      let src = cache.get(file);
      if (src === undefined) {
        try {
          src = readFileSync(file, "utf8").split("\n");
        } catch {
          src = null;
        }
        cache.set(file, src);
      }
      if (src !== null) {
        context = [];
        for (let n = Math.max(1, line - around); n <= Math.min(src.length, line + around); n++) {
          context.push([n, src[n - 1]!]);
        }
      }
    }
    frames.push({ fn: m.fn, file, line, column: m.column, own, context });
  }
  return frames;
}

function title(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return `Thrown value: ${String(err)}`;
}

/** The plain-text page, for curl and other non-browser clients. */
export function renderDebugText(err: unknown, req: RequestSummary, root?: string): string {
  let s = `${title(err)}\n\n${req.method} ${req.url}\n\nTraceback (most recent call first):\n`;
  for (const f of parseStack(err, { root })) {
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
export function renderDebugHtml(err: unknown, req: RequestSummary, root?: string): string {
  const frames = parseStack(err, { root });
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
export type DebugSettings = Pick<Config, "debug" | "debugPageForRemote" | "serverName"> & {
  trustedHosts?: Config["trustedHosts"];
};

function isLoopbackV4(h: string): boolean {
  const parts = h.split(".");
  if (parts.length !== 4 || parts[0] !== "127") return false;
  for (const p of parts) if (!isDigits(p) || p.length > 3 || Number(p) > 255) return false;
  return true;
}

/**
 * A Host the debug page answers: `localhost` (and `*.localhost`), `127.x.x.x`, `[::1]`, the configured
 * `serverName`, or one of `trustedHosts`. A page on another name that rebinds its DNS to 127.0.0.1
 * sends its own name as Host, so the developer's browser can't be made to read the page for it
 * (as Werkzeug's debugger since 3.0.3).
 */
export function isDebugHost(config: DebugSettings, host: string): boolean {
  const h = hostName(host);
  if (h === "localhost" || h.endsWith(".localhost") || h === "[::1]" || isLoopbackV4(h)) return true;
  const sn = config.serverName;
  if (typeof sn === "string" && sn !== "" && hostName(sn) === h) return true;
  const trusted = config.trustedHosts;
  return trusted !== undefined && trusted !== null && hostMatches(h, trusted);
}

/**
 * The debug page shows source code, so only in debug mode, only to a client on this machine
 * (loopback) unless `config.debugPageForRemote` says otherwise (e.g. a dev container), and only for
 * a loopback Host (`isDebugHost`): a DNS-rebinding page can't read it.
 */
export function showDebugPage(config: DebugSettings, req: Request): boolean {
  if (config.debug !== true) return false;
  if (config.debugPageForRemote === true) {
    // A dev container is reached by its address: an IP literal can't be rebound, so it is accepted.
    const h = hostName(req.host);
    return isIP(h.startsWith("[") ? h.slice(1, -1) : h) !== 0 || isDebugHost(config, req.host);
  }
  if (!isDebugHost(config, req.host)) return false;
  const a = req.remoteAddr;
  return a === "::1" || a.startsWith("127.") || a.startsWith("::ffff:127.");
}

/** Debug mode only: the exception, the stack with the app's source lines, the request. */
export function debugErrorResponse(err: unknown, req: Request): Response {
  const summary = { method: req.method, url: req.url, headers: req.headers, remoteAddr: req.remoteAddr };
  const root = req.app.root;
  if (wantsHtml(req.header("accept"))) {
    return new Response(renderDebugHtml(err, summary, root), {
      status: 500,
      contentType: "text/html; charset=utf-8",
    });
  }
  return new Response(renderDebugText(err, summary, root), {
    status: 500,
    contentType: "text/plain; charset=utf-8",
  });
}
