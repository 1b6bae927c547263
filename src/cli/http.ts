// `phial [METHOD] URL [ITEM ...]`: an httpie-style client on phial/client.
//
// It follows httpie's conventions where they exist (items, output rules, exit codes) and curl's
// where httpie has none (`-o`, `--continue`, `-L`, `-H 'Name: value'`). On a terminal it prints the
// response head and a pretty body; on a pipe or a file only the body, byte for byte.

import { readFileSync } from "node:fs";
import { open, stat } from "node:fs/promises";
import { basename, extname, resolve } from "node:path";
import { extension as mimeExtension, lookup as mimeLookup } from "mime-types";
import {
  Client,
  ClientError,
  type ClientOptions,
  type ClientResponse,
  ConnectTimeoutError,
  HeadersTimeoutError,
  type MultipartValue,
  proxyFromEnv,
  ReadTimeoutError,
  RequestAbortedError,
  type RequestOptions,
  RequestTimeoutError,
  TooManyRedirectsError,
} from "../client/index.ts";
import { type Io, type Output, type Palette, palette, useColor } from "./io.ts";
import { formatJson, isJson } from "./json.ts";

export const HTTP_HELP = `Usage: phial [METHOD] URL [ITEM ...] [options]
       phial get|post|put|patch|delete|head|options URL [ITEM ...] [options]

METHOD is any method, in any case (default GET, or POST when data is sent).

Items:
  Header:value     a request header                 (X-Api-Key:abc)
  name=value       a JSON string field              (name=Ada)
  name:=json       a raw JSON field, sent as typed  (age:=36  tags:='["a","b"]')
  name==value      a query parameter                (page==2)
  name@path        a file field (sends multipart)   (avatar@./me.png)
  name=@path       a string field read from a file  (bio=@bio.txt)
  name:=@path      a raw JSON field read from a file (meta:=@meta.json)
  @path            the file is the raw body          (@data.bin)
  A backslash escapes a separator in the name (a\\:b=c). For GET and HEAD, = and := fields become
  query parameters. A raw body can also come from stdin (phial post URL < file) or --raw.

URL: "http://…", "https://…", "localhost:8000/x", or ":8000/x" for http://localhost:8000/x.

Request:
  -f, --form             send fields urlencoded (multipart when a file is given) instead of JSON
  --raw TEXT|@FILE       send TEXT (or FILE's bytes) as the body
  -a, --auth USER:PASS   basic authentication; with -A bearer, a token
  -A, --auth-type TYPE   basic (default) or bearer
  -H 'Name: value'       a request header, curl style
  -I, --ignore-stdin     don't read a body from stdin

Response:
  -p, --print WHAT       what to print: H request head, B request body, h response head, b body
                         (default hb on a terminal, b on a pipe or file)
  -v, --verbose          print everything (HBhb), the response of each redirect too
  -h, --headers          print only the response head (h)
  -b, --body             print only the response body (b)
  --check-status         exit 3/4/5 on a 3xx/4xx/5xx response (as httpie)
  -o, --output FILE      save the body to FILE, with a progress bar on a terminal
  -d, --download         save the body to a file named by the server or the URL (never overwritten)
  -c, --continue         with -o or -d, resume a partial file with a Range request

Connection:
  --timeout SECONDS      give up when nothing arrives for this long (connect, head, body)
  --max-time SECONDS     give up when the whole exchange takes longer
  --no-follow            don't follow redirects (-F/--follow and -L are accepted: following is the default)
  --max-redirects N      follow at most N redirects (default 20)
  --proxy URL            use this proxy (default: $HTTP_PROXY/$HTTPS_PROXY, minus $NO_PROXY)
  --no-proxy             use no proxy, whatever the environment says
  --cacert FILE          trust this CA certificate (PEM) for https
  -k, --insecure         don't verify the server's certificate
  --help                 this help

Colours are used on a terminal unless NO_COLOR is set (FORCE_COLOR=1 forces them).
Exit status: 0 done (whatever the status, unless --check-status), 1 error, 2 usage error or timeout,
3/4/5 a 3xx/4xx/5xx response with --check-status, 6 too many redirects, 130 interrupted.
`;

export class HttpUsageError extends Error {}

/** Exit statuses, as httpie's. */
const EXIT = { ok: 0, error: 1, timeout: 2, usage: 2, redirects: 6, interrupted: 130 } as const;

type Item =
  | { kind: "header"; name: string; value: string }
  | { kind: "query"; name: string; value: string }
  | { kind: "field"; name: string; value: string }
  | { kind: "json"; name: string; value: string }
  | { kind: "file"; name: string; value: string }
  | { kind: "body"; value: string };

export interface Parsed {
  method: string | undefined;
  url: string;
  items: Item[];
  form: boolean;
  raw: string | undefined;
  auth: string | undefined;
  authType: "basic" | "bearer";
  ignoreStdin: boolean;
  print: string | undefined;
  verbose: boolean;
  checkStatus: boolean;
  output: string | undefined;
  download: boolean;
  resume: boolean;
  timeout: number;
  maxTime: number;
  follow: boolean;
  maxRedirects: number;
  proxy: string | false | undefined;
  cacert: string | undefined;
  insecure: boolean;
  help: boolean;
}

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const METHOD_RE = /^[A-Za-z][A-Za-z-]*$/;

function normalizeUrl(u: string): string {
  if (u.startsWith(":")) return `http://localhost${u.startsWith(":/") ? u.slice(1) : u}`;
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(u)) return u;
  return `http://${u}`;
}

/** Separators, longest first at any one position (httpie's rule: the earliest wins, then the longest). */
const SEPARATORS = [":=@", "=@", ":=", "==", "=", ":", "@"] as const;

/** Splits an item at its first unescaped separator; `\` escapes the next character of the name. */
export function splitItem(item: string): [string, string, string] | undefined {
  let name = "";
  for (let i = 0; i < item.length; i++) {
    const ch = item[i]!;
    if (ch === "\\" && i + 1 < item.length) {
      name += item[++i];
      continue;
    }
    for (const sep of SEPARATORS) {
      if (item.startsWith(sep, i)) return [name, sep, item.slice(i + sep.length)];
    }
    name += ch;
  }
  return undefined;
}

/** Flags without a value, by every name they go by. */
const BOOL_FLAGS: Record<string, keyof Parsed> = {
  "--help": "help",
  "-f": "form",
  "--form": "form",
  "-v": "verbose",
  "--verbose": "verbose",
  "-k": "insecure",
  "--insecure": "insecure",
  "-d": "download",
  "--download": "download",
  "-c": "resume",
  "--continue": "resume",
  "--check-status": "checkStatus",
  "-I": "ignoreStdin",
  "--ignore-stdin": "ignoreStdin",
};
/** Flags that take a value. */
const VALUE_FLAGS = new Set([
  "-o",
  "--output",
  "-p",
  "--print",
  "-a",
  "--auth",
  "-A",
  "--auth-type",
  "-H",
  "--header",
  "--raw",
  "--timeout",
  "--max-time",
  "--max-redirects",
  "--proxy",
  "--cacert",
]);
const SHORT_VALUE = new Set(["o", "p", "a", "A", "H"]);
const SHORT_BOOL = new Set(["f", "v", "k", "c", "d", "I", "h", "b", "F", "L"]);

function seconds(flag: string, v: string): number {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n))
    throw new HttpUsageError(`${flag} takes a positive number of seconds, got ${JSON.stringify(v)}`);
  return n * 1000;
}

/** Parses the arguments after `phial` (or after `phial get`, with `method` given). */
export function parseArgs(method: string | undefined, args: readonly string[]): Parsed {
  const p: Parsed = {
    method,
    url: "",
    items: [],
    form: false,
    raw: undefined,
    auth: undefined,
    authType: "basic",
    ignoreStdin: false,
    print: undefined,
    verbose: false,
    checkStatus: false,
    output: undefined,
    download: false,
    resume: false,
    timeout: 0,
    maxTime: 0,
    follow: true,
    maxRedirects: 20,
    proxy: undefined,
    cacert: undefined,
    insecure: false,
    help: false,
  };
  const positional: string[] = [];
  const setValue = (flag: string, v: string) => {
    switch (flag) {
      case "-o":
      case "--output":
        p.output = v;
        break;
      case "-p":
      case "--print":
        if (v === "" || !/^[HBhb]+$/.test(v))
          throw new HttpUsageError(
            `--print takes letters of HBhb (H request head, B request body, h response head, b response body), got ${JSON.stringify(v)}`,
          );
        p.print = v;
        break;
      case "-a":
      case "--auth":
        p.auth = v;
        break;
      case "-A":
      case "--auth-type": {
        const t = v.toLowerCase();
        if (t !== "basic" && t !== "bearer")
          throw new HttpUsageError(`--auth-type is basic or bearer, got ${JSON.stringify(v)}`);
        p.authType = t;
        break;
      }
      case "-H":
      case "--header": {
        const colon = v.indexOf(":");
        const name = colon <= 0 ? "" : v.slice(0, colon).trim();
        if (!TOKEN_RE.test(name))
          throw new HttpUsageError(`-H takes 'Name: value', got ${JSON.stringify(v)}`);
        p.items.push({ kind: "header", name, value: v.slice(colon + 1).trim() });
        break;
      }
      case "--raw":
        p.raw = v;
        break;
      case "--timeout":
        p.timeout = seconds(flag, v);
        break;
      case "--max-time":
        p.maxTime = seconds(flag, v);
        break;
      case "--max-redirects": {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0)
          throw new HttpUsageError(`--max-redirects takes a whole number, got ${JSON.stringify(v)}`);
        p.maxRedirects = n;
        break;
      }
      case "--proxy":
        p.proxy = v;
        break;
      case "--cacert":
        p.cacert = v;
        break;
    }
  };
  const setBool = (flag: string) => {
    switch (flag) {
      case "-h":
      case "--headers":
        p.print = "h";
        return;
      case "-b":
      case "--body":
        p.print = "b";
        return;
      case "-F":
      case "--follow":
      case "-L":
      case "--location":
        p.follow = true;
        return;
      case "--no-follow":
        p.follow = false;
        return;
      case "--no-proxy":
        p.proxy = false;
        return;
    }
    const key = BOOL_FLAGS[flag];
    if (key === undefined) throw new HttpUsageError(`unknown option ${flag}; see --help`);
    (p as unknown as Record<string, boolean>)[key] = true;
  };
  let options = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (options && a === "--") {
      options = false;
      continue;
    }
    if (options && a.startsWith("--")) {
      const eq = a.indexOf("=");
      const flag = eq === -1 ? a : a.slice(0, eq);
      if (VALUE_FLAGS.has(flag)) {
        const v: string | undefined = eq === -1 ? args[++i] : a.slice(eq + 1);
        if (v === undefined) throw new HttpUsageError(`${flag} needs a value`);
        setValue(flag, v);
      } else {
        if (eq !== -1) throw new HttpUsageError(`${flag} takes no value`);
        setBool(flag);
      }
      continue;
    }
    if (options && a.length >= 2 && a[0] === "-" && /^[A-Za-z]/.test(a[1]!)) {
      // A cluster of short flags (-vk); a flag that takes a value takes the rest or the next argument.
      for (let j = 1; j < a.length; j++) {
        const f = a[j]!;
        if (SHORT_VALUE.has(f)) {
          const v = j + 1 < a.length ? a.slice(j + 1) : args[++i];
          if (v === undefined) throw new HttpUsageError(`-${f} needs a value`);
          setValue(`-${f}`, v);
          break;
        }
        if (!SHORT_BOOL.has(f))
          throw new HttpUsageError(`unknown option -${f}${a.length > 2 ? ` (in ${a})` : ""}; see --help`);
        setBool(`-${f}`);
      }
      continue;
    }
    positional.push(a);
  }
  if (p.help) return p;
  if (p.method === undefined && positional.length >= 2 && METHOD_RE.test(positional[0]!)) {
    p.method = positional.shift()!.toUpperCase();
  }
  const url = positional.shift();
  if (url === undefined)
    throw new HttpUsageError(
      `a URL is needed: phial ${p.method?.toLowerCase() ?? "get"} URL [ITEM ...]; see --help`,
    );
  p.url = normalizeUrl(url);
  for (const item of positional) {
    if (item.startsWith("@") && item.length > 1) {
      p.items.push({ kind: "body", value: item.slice(1) });
      continue;
    }
    const parts = splitItem(item);
    if (parts === undefined || parts[0] === "")
      throw new HttpUsageError(
        `can't read the item ${JSON.stringify(item)}: use Header:value, name=value, name:=json, name==value or name@file`,
      );
    const [name, sep, v] = parts;
    switch (sep) {
      case ":":
        if (!TOKEN_RE.test(name))
          throw new HttpUsageError(`${JSON.stringify(name)} is not a valid header name`);
        p.items.push({ kind: "header", name, value: v });
        break;
      case "==":
        p.items.push({ kind: "query", name, value: v });
        break;
      case "=":
        p.items.push({ kind: "field", name, value: v });
        break;
      case ":=":
        if (!isJson(v)) throw new HttpUsageError(`the value of ${name}:= is not valid JSON: ${v}`);
        p.items.push({ kind: "json", name, value: v });
        break;
      case "@":
        p.items.push({ kind: "file", name, value: v });
        break;
      case "=@":
      case ":=@":
        // Read now: a missing file is a usage mistake, reported before anything is sent.
        p.items.push({ kind: sep === "=@" ? "field" : "json", name, value: `\0${v}` });
        break;
    }
  }
  return p;
}

function statusColor(c: Palette, status: number): (s: string) => string {
  if (status >= 500) return c.red;
  if (status >= 400) return c.yellow;
  if (status >= 300) return c.cyan;
  return c.green;
}

function mediaType(ct: string | undefined): string {
  return ct === undefined ? "" : ct.split(";")[0]!.trim().toLowerCase();
}

function isJsonType(ct: string | undefined): boolean {
  const t = mediaType(ct);
  return t === "application/json" || t.endsWith("+json");
}

function isTextType(ct: string | undefined): boolean {
  if (ct === undefined) return true;
  const t = mediaType(ct);
  return (
    t.startsWith("text/") ||
    isJsonType(t) ||
    t.endsWith("+xml") ||
    t === "application/xml" ||
    t === "application/javascript" ||
    t === "application/x-www-form-urlencoded"
  );
}

export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/**
 * One line of download progress that fits `columns` (it never wraps, which would scroll the
 * terminal on every redraw): the bar, then the figures, dropped from the least useful first.
 */
export function progressLine(got: number, total: number, perSecond: number, columns: number): string {
  const room = Math.max(1, columns - 1);
  const rate = `${humanBytes(Math.round(perSecond))}/s`;
  const tails: string[] = [];
  if (total > 0) {
    const pct = `${String(Math.min(100, Math.floor((got * 100) / total))).padStart(3)}%`;
    tails.push(
      `${pct}  ${humanBytes(got)} / ${humanBytes(total)}  ${rate}`,
      `${pct}  ${humanBytes(got)} / ${humanBytes(total)}`,
      `${pct}  ${humanBytes(got)}`,
      pct,
    );
    for (const tail of tails) {
      const bar = Math.min(40, room - tail.length - 3);
      if (bar >= 10) {
        const fill = Math.round(Math.min(1, got / total) * bar);
        return `[${"#".repeat(fill)}${".".repeat(bar - fill)}] ${tail}`;
      }
    }
  } else {
    tails.push(`${humanBytes(got)}  ${rate}`, humanBytes(got));
  }
  for (const tail of tails) if (tail.length <= room) return tail;
  return tails[tails.length - 1]!.slice(0, room);
}

function responseHead(c: Palette, res: ClientResponse): string {
  let s = `${c.blue(`HTTP/${res.httpVersion}`)} ${statusColor(c, res.status)(c.bold(`${res.status} ${res.statusText}`))}\n`;
  const raw = res.headers.raw;
  for (let i = 0; i < raw.length; i += 2) s += `${c.cyan(raw[i]!)}: ${raw[i + 1]}\n`;
  return s;
}

function requestHead(c: Palette, head: string): string {
  const lines = head.split("\r\n").filter((l) => l !== "");
  let s = `${c.bold(lines[0]!)}\n`;
  for (const l of lines.slice(1)) {
    const colon = l.indexOf(":");
    s += `${c.cyan(l.slice(0, colon))}${l.slice(colon)}\n`;
  }
  return s;
}

/** Writes to stdout, waiting when the pipe is full (a slow `| less` must not make us buffer). */
async function put(out: Output, chunk: string | Uint8Array): Promise<void> {
  if (!out.write(chunk) && out.once !== undefined) {
    const once = out.once.bind(out);
    await new Promise<void>((r) => once("drain", () => r()));
  }
}

async function readAll(input: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of input) parts.push(typeof c === "string" ? Buffer.from(c) : c);
  return Buffer.concat(parts);
}

function hasNul(b: Uint8Array): boolean {
  return b.indexOf(0) !== -1;
}

const BINARY_NOTE = (n: string) =>
  `+-----------------------------------------+\n| binary data${n} not shown; use -o FILE |\n+-----------------------------------------+\n`;

/** The Content-Type of a raw body the user gave without one. */
function rawType(bytes: Buffer, path: string | undefined): string {
  if (isJson(bytes.toString("utf8"))) return "application/json";
  if (path !== undefined) {
    const t = mimeLookup(extname(path));
    if (t !== false) return t;
  }
  return hasNul(bytes) ? "application/octet-stream" : "text/plain; charset=utf-8";
}

interface DownloadFailure {
  error: unknown;
  interrupted: boolean;
  /** Said after the error: what is left on disk. */
  note?: string;
}

/** Why the run failed, as a message and an exit status. */
function failure(e: unknown, interrupted: boolean): [string, number] {
  if (interrupted) return ["interrupted", EXIT.interrupted];
  if (e instanceof TooManyRedirectsError) return [e.message, EXIT.redirects];
  // The client's messages name its options; a CLI user has flags.
  if (e instanceof ReadTimeoutError || e instanceof ConnectTimeoutError || e instanceof HeadersTimeoutError)
    return [
      `${e.message.replace(/[;—(].*$/, "").trim()}; use --timeout SECONDS to wait longer`,
      EXIT.timeout,
    ];
  if (e instanceof RequestTimeoutError)
    return [
      `${e.message.replace(/[;—(].*$/, "").trim()}; use --max-time SECONDS to allow longer`,
      EXIT.timeout,
    ];
  if (e instanceof ClientError || e instanceof TypeError) return [e.message, EXIT.error];
  const err = e as NodeJS.ErrnoException;
  return [err?.message ?? String(e), EXIT.error];
}

/** Runs one request; resolves with the exit code. `method` is undefined for `phial URL …`. */
export async function runHttp(method: string | undefined, args: readonly string[], io: Io): Promise<number> {
  let p: Parsed;
  try {
    p = parseArgs(method, args);
  } catch (e) {
    if (e instanceof HttpUsageError) {
      io.stderr.write(`phial: ${e.message}\n`);
      return EXIT.usage;
    }
    throw e;
  }
  if (p.help) {
    io.stdout.write(HTTP_HELP);
    return 0;
  }
  const tty = io.stdout.isTTY === true;
  const outColor = palette(useColor(io.stdout, io.env));
  const errColor = palette(useColor(io.stderr, io.env));
  const fail = (msg: string, code: number = EXIT.error): number => {
    io.stderr.write(`${errColor.red("phial: error:")} ${msg}\n`);
    return code;
  };

  // --- the request ---
  const headers: [string, string][] = [];
  const query: [string, string][] = [];
  const fields: Item[] = [];
  const files: [string, string][] = [];
  let raw: { bytes: Buffer; path: string | undefined } | undefined;
  const readItemFile = (path: string): Buffer => readFileSync(resolve(io.cwd, path));
  try {
    for (const it of p.items) {
      switch (it.kind) {
        case "header":
          headers.push([it.name, it.value]);
          break;
        case "query":
          query.push([it.name, it.value]);
          break;
        case "field":
        case "json": {
          if (it.value.charCodeAt(0) === 0) {
            const text = readItemFile(it.value.slice(1)).toString("utf8");
            const v = it.kind === "field" ? text.replace(/\r?\n$/, "") : text.trim();
            if (it.kind === "json" && !isJson(v))
              return fail(`${it.value.slice(1)} (for ${it.name}:=@) is not valid JSON`, EXIT.usage);
            fields.push({ kind: it.kind, name: it.name, value: v });
          } else fields.push(it);
          break;
        }
        case "file":
          files.push([it.name, it.value]);
          break;
        case "body":
          if (raw !== undefined) return fail("give one raw body only", EXIT.usage);
          raw = { bytes: readItemFile(it.value), path: it.value };
          break;
      }
    }
    if (p.raw !== undefined) {
      if (raw !== undefined) return fail("give one raw body only (--raw or @file)", EXIT.usage);
      raw = p.raw.startsWith("@")
        ? { bytes: readItemFile(p.raw.slice(1)), path: p.raw.slice(1) }
        : { bytes: Buffer.from(p.raw), path: undefined };
    }
  } catch (e) {
    return fail(`can't read a file: ${(e as Error).message}`, EXIT.usage);
  }
  const hasData = fields.length > 0 || files.length > 0;
  if (raw !== undefined && hasData)
    return fail("give either data items (=, :=, @) or a raw body, not both", EXIT.usage);
  if (raw === undefined && !hasData && !p.ignoreStdin && io.stdin !== undefined && io.stdin.isTTY !== true) {
    const bytes = await readAll(io.stdin);
    if (bytes.length > 0) raw = { bytes, path: undefined };
  }
  const verb = p.method ?? (hasData || raw !== undefined ? "POST" : "GET");
  const noBody = verb === "GET" || verb === "HEAD";
  const opts: RequestOptions = { method: verb, headers };
  let sentBody: string | undefined;
  const hasHeader = (n: string) => headers.some(([k]) => k.toLowerCase() === n);
  if (raw !== undefined) {
    opts.body = raw.bytes;
    if (!hasHeader("content-type")) headers.push(["Content-Type", rawType(raw.bytes, raw.path)]);
    sentBody = hasNul(raw.bytes)
      ? `(${humanBytes(raw.bytes.length)} of binary data)`
      : raw.bytes.toString("utf8");
  } else if (noBody && hasData) {
    if (files.length > 0) return fail(`files can't be sent with ${verb}; use POST or PUT`, EXIT.usage);
    for (const f of fields) if (f.kind !== "header" && f.kind !== "body") query.push([f.name, f.value]);
  } else if (files.length > 0) {
    const parts: [string, MultipartValue][] = [];
    for (const f of fields) if (f.kind === "field" || f.kind === "json") parts.push([f.name, f.value]);
    for (const [k, path] of files) {
      try {
        parts.push([k, { data: readFileSync(resolve(io.cwd, path)), filename: basename(path) }]);
      } catch (e) {
        return fail(`can't read ${path}: ${(e as Error).message}`, EXIT.usage);
      }
    }
    opts.multipart = parts;
    sentBody = `(multipart: ${parts.map(([k]) => k).join(", ")})`;
  } else if (hasData && p.form) {
    const form: [string, string][] = [];
    for (const f of fields) if (f.kind === "field" || f.kind === "json") form.push([f.name, f.value]);
    opts.form = form;
    sentBody = new URLSearchParams(form).toString();
  } else if (hasData) {
    // Built as text: `:=` values go out exactly as typed (no rounding of big numbers).
    const seen = new Map<string, string>();
    for (const f of fields)
      if (f.kind === "field" || f.kind === "json")
        seen.set(f.name, f.kind === "json" ? f.value : JSON.stringify(f.value));
    let text = "{";
    for (const [k, v] of seen) text += `${text === "{" ? "" : ", "}${JSON.stringify(k)}: ${v}`;
    text += "}";
    opts.body = text;
    sentBody = text;
    if (!hasHeader("content-type")) headers.push(["Content-Type", "application/json"]);
    if (!hasHeader("accept")) headers.push(["Accept", "application/json, */*;q=0.5"]);
  }
  if (query.length > 0) opts.query = new URLSearchParams(query);
  if (p.auth !== undefined) {
    if (hasHeader("authorization")) {
      // An Authorization item given as well wins; one header, not two.
    } else if (p.authType === "bearer") headers.push(["Authorization", `Bearer ${p.auth}`]);
    else {
      let cred = p.auth;
      if (!cred.includes(":")) {
        // httpie's way: `-a USER` asks for the password on the terminal (never echoed, never in history).
        const host = new URL(p.url).host;
        const pass = await io.askHidden?.(`phial: password for ${cred}@${host}: `);
        if (pass === null) return EXIT.interrupted;
        if (pass === undefined)
          return fail(
            "-a takes USER:PASSWORD (no terminal to ask the password on), or -A bearer -a TOKEN",
            EXIT.usage,
          );
        cred = `${cred}:${pass}`;
      }
      headers.push(["Authorization", `Basic ${Buffer.from(cred, "utf8").toString("base64")}`]);
    }
  }
  if (p.maxTime > 0) opts.timeout = p.maxTime;
  // Streamed to a pipe or file, a body of any size is fine; on a terminal, JSON is held in memory to
  // be formatted, within the client's default limit.
  if (!tty) opts.maxResponseBytes = Number.POSITIVE_INFINITY;
  if (!p.follow) opts.redirect = "manual";
  opts.maxRedirects = p.maxRedirects;

  // --- what to print ---
  // A HEAD has no body to print: its head is what was asked for, on a pipe too.
  const print = p.verbose
    ? "HBhb"
    : (p.print ??
      (p.output !== undefined || p.download ? (tty ? "h" : "") : verb === "HEAD" ? "h" : tty ? "hb" : "b"));
  const show = (what: string) => print.includes(what);
  let printed = false; // something is on stdout: separate the next part with a blank line
  // Request heads and redirect responses are shown as they happen (small: no back-pressure needed).
  const now = (text: string) => {
    io.stdout.write(`${printed ? "\n" : ""}${text}`);
    printed = true;
  };
  if (show("H") || show("B")) {
    let first = true;
    opts.trace = (head) => {
      let s = "";
      if (show("H")) s += requestHead(outColor, head);
      if (show("B") && sentBody !== undefined && (first || !/^(GET|HEAD) /.test(head)))
        s += `\n${sentBody}\n`;
      first = false;
      now(s);
    };
  }
  if (show("h") && p.follow) {
    opts.onRedirect = (res) => now(responseHead(outColor, res));
  }

  // --- the client ---
  let ca: Buffer | undefined;
  if (p.cacert !== undefined) {
    try {
      ca = readFileSync(resolve(io.cwd, p.cacert));
    } catch (e) {
      return fail(`can't read --cacert ${p.cacert}: ${(e as Error).message}`, EXIT.usage);
    }
  }
  const settings: ClientOptions = {
    tls: { ...(ca === undefined ? {} : { ca }), rejectUnauthorized: !p.insecure },
    decompress: true,
    // --proxy replaces the environment's proxies; NO_PROXY still applies (as with curl's -x).
    proxy:
      p.proxy === false
        ? false
        : p.proxy !== undefined
          ? { http: p.proxy, https: p.proxy, noProxy: proxyFromEnv(io.env).noProxy ?? "" }
          : proxyFromEnv(io.env),
  };
  if (p.timeout > 0) {
    settings.readTimeout = p.timeout;
    settings.connectTimeout = p.timeout;
    settings.headersTimeout = Math.max(60_000, p.timeout);
  }
  let client: Client;
  try {
    client = new Client(settings);
  } catch (e) {
    return fail((e as Error).message, EXIT.usage);
  }
  const controller = new AbortController();
  opts.signal = controller.signal;
  let interrupted = false;
  const offInterrupt = io.onInterrupt?.(() => {
    interrupted = true;
    controller.abort(new Error("interrupted"));
  });

  // --- -o / --continue ---
  // -d without -c names the file after the response head; with -c the URL names it up front.
  let file =
    p.output !== undefined
      ? resolve(io.cwd, p.output)
      : p.download && p.resume
        ? resolve(io.cwd, downloadName(undefined, new URL(p.url), undefined))
        : undefined;
  let resumeAt = 0;
  if (p.download) {
    opts.decompress = false;
    opts.maxResponseBytes = Number.POSITIVE_INFINITY;
  }
  if (file !== undefined) {
    opts.decompress = false; // save the bytes as sent; progress counts what is on the wire
    opts.maxResponseBytes = Number.POSITIVE_INFINITY;
    if (p.resume) {
      try {
        resumeAt = (await stat(file)).size;
      } catch {
        resumeAt = 0;
      }
      if (resumeAt > 0) headers.push(["Range", `bytes=${resumeAt}-`]);
    }
  } else if (p.resume) {
    return fail("--continue needs -o FILE or -d", EXIT.usage);
  }

  try {
    const res = await client.request(p.url, opts);
    if (show("h")) {
      await put(io.stdout, (printed ? "\n" : "") + responseHead(outColor, res));
      printed = true;
    }
    let code: number = EXIT.ok;
    if (res.status >= 300) {
      const kind = Math.floor(res.status / 100);
      if (p.checkStatus && kind >= 3 && kind <= 5) code = kind;
      if (!tty && (kind === 4 || kind === 5 || p.checkStatus))
        io.stderr.write(`${errColor.yellow("phial: warning:")} HTTP ${res.status} ${res.statusText}\n`);
    }
    if (file === undefined && p.download)
      file = await unusedName(
        resolve(
          io.cwd,
          downloadName(
            res.headers.get("content-disposition"),
            new URL(res.url),
            res.headers.get("content-type"),
          ),
        ),
      );
    if (file !== undefined) {
      const r = await download(res, file, resumeAt, io);
      if (r !== undefined) {
        const [msg, c] = failure(r.error, r.interrupted || interrupted);
        fail(msg, c);
        if (r.note !== undefined) io.stderr.write(`${errColor.yellow("phial:")} ${r.note}\n`);
        return c;
      }
      return code;
    }
    if (verb === "HEAD" || !show("b")) {
      await res.cancel();
      return code;
    }
    await body(res, io, tty, outColor, printed);
    return code;
  } catch (e) {
    const [msg, c] = failure(e, interrupted);
    return fail(msg, c);
  } finally {
    offInterrupt?.();
    client.close();
  }
}

/** Prints a response body: on a terminal pretty and never binary, elsewhere the bytes as they came. */
async function body(res: ClientResponse, io: Io, tty: boolean, c: Palette, printed: boolean): Promise<void> {
  const out = io.stdout;
  const sep = printed ? "\n" : "";
  if (!tty) {
    let first = printed;
    for await (const chunk of res) {
      if (first && chunk.length > 0) {
        await put(out, sep);
        first = false;
      }
      await put(out, chunk);
    }
    return;
  }
  const ct = res.headers.get("content-type");
  if (!isTextType(ct)) {
    await res.cancel();
    const len = res.headers.get("content-length");
    await put(out, sep + c.dim(BINARY_NOTE(len === undefined ? "" : ` (${humanBytes(Number(len))})`)));
    return;
  }
  if (isJsonType(ct)) {
    const all = await res.bytes();
    if (all.length === 0) return;
    const text = all.toString("utf8");
    const pretty = formatJson(text, c);
    await put(
      out,
      sep +
        (pretty === undefined ? text : pretty) +
        (pretty !== undefined || !text.endsWith("\n") ? "\n" : ""),
    );
    return;
  }
  // Text streams as it comes; a NUL byte means it is binary after all, and the rest is not shown.
  let first = true;
  let last = 0x0a;
  for await (const chunk of res) {
    if (hasNul(chunk)) {
      await res.cancel();
      await put(out, `${first ? sep : last === 0x0a ? "" : "\n"}${c.dim(BINARY_NOTE(""))}`);
      return;
    }
    await put(out, first ? (sep === "" ? chunk : Buffer.concat([Buffer.from(sep), chunk])) : chunk);
    first = false;
    if (chunk.length > 0) last = chunk[chunk.length - 1]!;
  }
  if (!first && last !== 0x0a) await put(out, "\n");
}

/** A file name without folders, control characters or leading dots; undefined when nothing is left. */
function safeName(s: string): string | undefined {
  const base = s.slice(Math.max(s.lastIndexOf("/"), s.lastIndexOf("\\")) + 1);
  let clean = "";
  for (const ch of base) if (ch.charCodeAt(0) >= 0x20 && ch !== "\x7f") clean += ch;
  clean = clean
    .replace(/^[.\s]+/, "")
    .trim()
    .slice(0, 200);
  return clean === "" ? undefined : clean;
}

/**
 * The name `-d` saves under: Content-Disposition's `filename*` (RFC 8187) or `filename`, else the
 * URL's last path segment, else `index`; an extension from the Content-Type when it has none. Only
 * a bare name: a server can't write outside the current folder.
 */
export function downloadName(
  disposition: string | undefined,
  url: URL,
  contentType: string | undefined,
): string {
  let name: string | undefined;
  if (disposition !== undefined) {
    const star = /filename\*\s*=\s*([A-Za-z0-9!#$&+.^_`|~-]*)'[^']*'([^;\s]+)/i.exec(disposition);
    if (star !== null) {
      try {
        name = safeName(decodeURIComponent(star[2]!));
      } catch {
        name = undefined;
      }
    }
    if (name === undefined) {
      const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(disposition);
      if (plain !== null)
        name = safeName(plain[1] === undefined ? plain[2]! : plain[1].replace(/\\(.)/g, "$1"));
    }
  }
  if (name === undefined) {
    const seg = url.pathname.slice(url.pathname.lastIndexOf("/") + 1);
    try {
      name = safeName(decodeURIComponent(seg));
    } catch {
      name = safeName(seg);
    }
  }
  name ??= "index";
  if (extname(name) === "" && contentType !== undefined) {
    const ext = mimeExtension(mediaType(contentType));
    if (ext !== false) name += `.${ext}`;
  }
  return name;
}

/** `path`, or `path-1`, `path-2`, … (as httpie) when it exists. */
async function unusedName(path: string): Promise<string> {
  for (let n = 0; n < 1000; n++) {
    const candidate = n === 0 ? path : `${path}-${n}`;
    try {
      await stat(candidate);
    } catch {
      return candidate;
    }
  }
  return `${path}-${Date.now()}`;
}

/** Parses `bytes START-END/TOTAL`; undefined when it isn't that. */
function contentRange(v: string | undefined): { start: number; total: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(v.trim());
  if (m === null) return undefined;
  return { start: Number(m[1]), total: m[2] === "*" ? -1 : Number(m[2]) };
}

/**
 * Saves a body to `file` (appending from `resumeAt` when the server honoured the Range). Resolves
 * undefined when done, or with what went wrong after the partial file has been named on stderr.
 */
async function download(
  res: ClientResponse,
  file: string,
  resumeAt: number,
  io: Io,
): Promise<DownloadFailure | undefined> {
  const err = io.stderr;
  let append = false;
  let total = Number(res.headers.get("content-length") ?? -1);
  if (resumeAt > 0) {
    if (res.status === 416) {
      const cr = res.headers.get("content-range");
      await res.cancel();
      if (cr !== undefined && cr.trim() === `bytes */${resumeAt}`) {
        err.write(`${file} is already complete (${humanBytes(resumeAt)})\n`);
        return undefined;
      }
      return {
        error: new Error(
          `the server refused to resume ${file} at byte ${resumeAt} (416); remove the file to download it again`,
        ),
        interrupted: false,
      };
    }
    if (res.status === 206) {
      const cr = contentRange(res.headers.get("content-range"));
      if (cr === undefined || cr.start !== resumeAt) {
        await res.cancel();
        return {
          error: new Error(
            `the server resumed at a different place (${res.headers.get("content-range") ?? "no Content-Range"}); ${file} was left as it was`,
          ),
          interrupted: false,
        };
      }
      append = true;
      if (total >= 0) total += resumeAt;
    } else if (res.status === 200) {
      err.write(`The server does not resume downloads (it sent the whole file): starting ${file} over\n`);
    }
  }
  if (res.status >= 300 && !(res.status === 206 && append)) {
    // An error page is not the file; don't overwrite anything with it.
    await res.cancel();
    return {
      error: new Error(`HTTP ${res.status} ${res.statusText}: nothing saved to ${file}`),
      interrupted: false,
    };
  }
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(file, append ? "a" : "w");
  } catch (e) {
    await res.cancel();
    return { error: new Error(`can't write ${file}: ${(e as Error).message}`), interrupted: false };
  }
  const tty = err.isTTY === true;
  const started = Date.now();
  let got = 0;
  let lastDraw = 0;
  let lineOpen = false;
  const draw = () => {
    const secs = Math.max(0.001, (Date.now() - started) / 1000);
    err.write(
      `\r${progressLine(resumeAt * Number(append) + got, total, got / secs, err.columns ?? 80)}\x1b[K`,
    );
    lineOpen = true;
  };
  const endLine = () => {
    if (lineOpen) err.write("\n");
    lineOpen = false;
  };
  let failure: DownloadFailure | undefined;
  let writing = false;
  try {
    for await (const chunk of res) {
      writing = true;
      let off = 0;
      while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      writing = false;
      got += chunk.length;
      if (tty) {
        const now = Date.now();
        if (now - lastDraw > 100) {
          lastDraw = now;
          draw();
        }
      }
    }
  } catch (e) {
    failure = {
      error: writing ? new Error(`could not write ${file}: ${(e as Error).message}`) : e,
      interrupted: e instanceof RequestAbortedError,
    };
    if (writing) await res.cancel();
  }
  try {
    await fh.close();
  } catch (e) {
    failure ??= { error: new Error(`could not write ${file}: ${(e as Error).message}`), interrupted: false };
  }
  if (failure === undefined && tty) draw();
  endLine();
  const have = (append ? resumeAt : 0) + got;
  if (failure !== undefined) {
    const of = total > 0 ? ` of ${humanBytes(total)}` : "";
    failure.note = `${humanBytes(have)}${of} saved: ${file} is a partial file; run the same command with --continue to resume`;
    return failure;
  }
  err.write(`Saved ${humanBytes(have)} to ${file}\n`);
  return undefined;
}
