// `phial get|post|put|patch|delete|head URL [items]`: an httpie-style client on phial/client.
//
// Items: `Header:value`, `name=text` (JSON string field), `name:=json` (raw JSON field),
// `name==value` (query parameter), `name@path` (file upload: multipart). For GET and HEAD, `=` and
// `:=` fields go to the query string instead of a body.

import { createWriteStream, openAsBlob, readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import {
  Client,
  ClientError,
  type ClientResponse,
  type MultipartValue,
  type RequestOptions,
} from "../client/index.ts";
import { type Io, type Output, type Palette, palette, useColor } from "./io.ts";

export const HTTP_HELP = `Usage: phial <get|post|put|patch|delete|head> URL [ITEM ...] [options]

Items:
  Header:value     a request header           (X-Api-Key:abc)
  name=value       a JSON string field        (name=Ada)
  name:=json       a raw JSON field           (age:=36  tags:='["a","b"]')
  name==value      a query parameter          (page==2)
  name@path        a file (sends multipart)   (avatar@./me.png)
  For GET and HEAD, = and := fields become query parameters.

URL: "http://…", "https://…", "localhost:8000/x", or ":8000/x" for http://localhost:8000/x.

Options:
  -f, --form           send fields urlencoded (multipart when a file is given) instead of JSON
  -o, --output FILE    save the body to FILE, with a progress bar on a terminal
  -v, --verbose        print the request (head and body) before the response
  -b, --body           print only the response body
  -H, --headers        print only the status line and headers
  --timeout SECONDS    give up after this long (whole request)
  --no-follow          don't follow redirects
  --max-redirects N    follow at most N redirects (default 20)
  --cacert FILE        trust this CA certificate (PEM) for https
  -k, --insecure       don't verify the server's certificate
  -h, --help           this help

Colours are used on a terminal unless NO_COLOR is set (FORCE_COLOR=1 forces them).
Exit status: 0 on a response, 1 when the request failed, 2 for bad usage.
`;

class UsageError extends Error {}

interface Parsed {
  url: string;
  headers: [string, string][];
  query: [string, string][];
  fields: [string, unknown][];
  /** Fields that are strings as given on the command line (for form encoding). */
  rawFields: [string, string][];
  files: [string, string][];
  form: boolean;
  output: string | undefined;
  verbose: boolean;
  bodyOnly: boolean;
  headersOnly: boolean;
  timeout: number;
  follow: boolean;
  maxRedirects: number;
  cacert: string | undefined;
  insecure: boolean;
  help: boolean;
}

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function normalizeUrl(u: string): string {
  if (u.startsWith(":")) return `http://localhost${u}`;
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(u)) return u;
  return `http://${u}`;
}

/** Splits an item at its separator: the earliest one wins, the longer one at the same place. */
function splitItem(item: string): [string, string, string] | undefined {
  const seps = [":=", "==", "=", ":", "@"];
  let best: [number, string] | undefined;
  for (const sep of seps) {
    const at = item.indexOf(sep);
    if (at <= 0) continue;
    if (best === undefined || at < best[0] || (at === best[0] && sep.length > best[1].length))
      best = [at, sep];
  }
  if (best === undefined) return undefined;
  return [item.slice(0, best[0]), best[1], item.slice(best[0] + best[1].length)];
}

export function parseArgs(method: string, args: string[]): Parsed {
  const p: Parsed = {
    url: "",
    headers: [],
    query: [],
    fields: [],
    rawFields: [],
    files: [],
    form: false,
    output: undefined,
    verbose: false,
    bodyOnly: false,
    headersOnly: false,
    timeout: 0,
    follow: true,
    maxRedirects: 20,
    cacert: undefined,
    insecure: false,
    help: false,
  };
  const value = (i: number, flag: string): string => {
    const v = args[i + 1];
    if (v === undefined) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith("--") || (a.length === 2 && a.charCodeAt(0) === 0x2d && a !== "--")) {
      switch (a) {
        case "-h":
        case "--help":
          p.help = true;
          continue;
        case "-f":
        case "--form":
          p.form = true;
          continue;
        case "-v":
        case "--verbose":
          p.verbose = true;
          continue;
        case "-b":
        case "--body":
          p.bodyOnly = true;
          continue;
        case "-H":
        case "--headers":
          p.headersOnly = true;
          continue;
        case "-k":
        case "--insecure":
          p.insecure = true;
          continue;
        case "--no-follow":
          p.follow = false;
          continue;
        case "-o":
        case "--output":
          p.output = value(i++, a);
          continue;
        case "--cacert":
          p.cacert = value(i++, a);
          continue;
        case "--timeout": {
          const n = Number(value(i++, a));
          if (!(n > 0)) throw new UsageError("--timeout takes a positive number of seconds");
          p.timeout = n * 1000;
          continue;
        }
        case "--max-redirects": {
          const n = Number(value(i++, a));
          if (!Number.isInteger(n) || n < 0) throw new UsageError("--max-redirects takes a whole number");
          p.maxRedirects = n;
          continue;
        }
        default:
          throw new UsageError(`unknown option ${a}`);
      }
    }
    if (p.url === "") {
      p.url = normalizeUrl(a);
      continue;
    }
    const parts = splitItem(a);
    if (parts === undefined) throw new UsageError(`can't read the item ${JSON.stringify(a)}; see --help`);
    const [name, sep, v] = parts;
    switch (sep) {
      case ":":
        if (!TOKEN_RE.test(name)) throw new UsageError(`${JSON.stringify(name)} is not a valid header name`);
        p.headers.push([name, v]);
        break;
      case "==":
        p.query.push([name, v]);
        break;
      case "=":
        p.fields.push([name, v]);
        p.rawFields.push([name, v]);
        break;
      case ":=":
        try {
          p.fields.push([name, JSON.parse(v)]);
        } catch {
          throw new UsageError(`the value of ${name}:= is not valid JSON: ${v}`);
        }
        p.rawFields.push([name, v]);
        break;
      case "@":
        p.files.push([name, v]);
        break;
    }
  }
  if (!p.help && p.url === "") throw new UsageError(`phial ${method.toLowerCase()} needs a URL`);
  return p;
}

function statusColor(c: Palette, status: number): (s: string) => string {
  if (status >= 500) return c.red;
  if (status >= 400) return c.yellow;
  if (status >= 300) return c.cyan;
  return c.green;
}

/** Pretty JSON with colours for keys, strings and literals. */
export function prettyJson(value: unknown, c: Palette, indent = ""): string {
  if (value === null) return c.magenta("null");
  if (typeof value === "string") return c.green(JSON.stringify(value));
  if (typeof value === "number" || typeof value === "boolean") return c.magenta(String(value));
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[\n${value.map((v) => inner + prettyJson(v, c, inner)).join(",\n")}\n${indent}]`;
  }
  if (typeof value === "object") {
    const keys = Object.keys(value as object);
    if (keys.length === 0) return "{}";
    const rec = value as Record<string, unknown>;
    return `{\n${keys.map((k) => `${inner}${c.blue(JSON.stringify(k))}: ${prettyJson(rec[k], c, inner)}`).join(",\n")}\n${indent}}`;
  }
  return String(value);
}

function isJsonType(ct: string | undefined): boolean {
  if (ct === undefined) return false;
  const t = ct.split(";")[0]!.trim().toLowerCase();
  return t === "application/json" || t.endsWith("+json");
}

function isTextType(ct: string | undefined): boolean {
  if (ct === undefined) return true;
  const t = ct.split(";")[0]!.trim().toLowerCase();
  return (
    t.startsWith("text/") ||
    isJsonType(t) ||
    t.endsWith("+xml") ||
    t === "application/xml" ||
    t === "application/javascript" ||
    t === "application/x-www-form-urlencoded"
  );
}

function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function printHead(out: Output, c: Palette, res: ClientResponse): void {
  let s = `${c.blue(`HTTP/${res.httpVersion}`)} ${statusColor(c, res.status)(c.bold(`${res.status} ${res.statusText}`))}\n`;
  const raw = res.headers.raw;
  for (let i = 0; i < raw.length; i += 2) s += `${c.cyan(raw[i]!)}: ${raw[i + 1]}\n`;
  out.write(s);
}

function printRequestHead(out: Output, c: Palette, head: string): void {
  const lines = head.split("\r\n").filter((l) => l !== "");
  let s = `${c.bold(lines[0]!)}\n`;
  for (const l of lines.slice(1)) {
    const colon = l.indexOf(":");
    s += `${c.cyan(l.slice(0, colon))}${l.slice(colon)}\n`;
  }
  out.write(`${s}\n`);
}

async function download(res: ClientResponse, file: string, io: Io): Promise<void> {
  const total = Number(res.headers.get("content-length") ?? -1);
  const tty = io.stderr.isTTY === true;
  const width = Math.max(10, Math.min(40, (io.stderr.columns ?? 80) - 50));
  const started = Date.now();
  let got = 0;
  let lastDraw = 0;
  const draw = (final: boolean) => {
    const secs = Math.max(0.001, (Date.now() - started) / 1000);
    const rate = `${humanBytes(Math.round(got / secs))}/s`;
    if (total > 0) {
      const frac = Math.min(1, got / total);
      const fill = Math.round(frac * width);
      io.stderr.write(
        `\r[${"#".repeat(fill)}${".".repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${humanBytes(got)} / ${humanBytes(total)}  ${rate}   ${final ? "\n" : ""}`,
      );
    } else {
      io.stderr.write(`\r${humanBytes(got)}  ${rate}   ${final ? "\n" : ""}`);
    }
  };
  const out = createWriteStream(file);
  const failed = new Promise<never>((_, reject) => out.once("error", reject));
  failed.catch(() => {});
  for await (const chunk of res) {
    got += chunk.length;
    if (!out.write(chunk))
      await Promise.race([new Promise<void>((r) => out.once("drain", () => r())), failed]);
    if (tty) {
      const now = Date.now();
      if (now - lastDraw > 100) {
        lastDraw = now;
        draw(false);
      }
    }
  }
  await Promise.race([new Promise<void>((r) => out.end(r)), failed]);
  if (tty) draw(true);
  io.stderr.write(`Saved ${humanBytes(got)} to ${file}\n`);
}

/** Runs one HTTP verb; resolves with the exit code. */
export async function runHttp(method: string, args: string[], io: Io): Promise<number> {
  let p: Parsed;
  try {
    p = parseArgs(method, args);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`phial: ${e.message}\n\n${HTTP_HELP}`);
      return 2;
    }
    throw e;
  }
  if (p.help) {
    io.stdout.write(HTTP_HELP);
    return 0;
  }
  const outColor = palette(useColor(io.stdout, io.env));
  const errColor = palette(useColor(io.stderr, io.env));
  const noBody = method === "GET" || method === "HEAD";
  const opts: RequestOptions = { method, headers: p.headers };
  const query: [string, string][] = [...p.query];
  if (noBody) {
    if (p.files.length > 0) {
      io.stderr.write(`phial: files can't be sent with ${method}; use post or put\n`);
      return 2;
    }
    for (const [k, v] of p.rawFields) query.push([k, v]);
  } else if (p.files.length > 0) {
    const parts: [string, MultipartValue][] = p.rawFields.map(([k, v]) => [k, v]);
    for (const [k, path] of p.files) {
      const full = resolve(io.cwd, path);
      try {
        parts.push([k, { data: await openAsBlob(full), filename: basename(path) }]);
      } catch (e) {
        io.stderr.write(`phial: can't read ${path}: ${(e as Error).message}\n`);
        return 1;
      }
    }
    opts.multipart = parts;
  } else if (p.form && p.rawFields.length > 0) {
    opts.form = p.rawFields;
  } else if (p.fields.length > 0) {
    const obj: Record<string, unknown> = {};
    for (const [k, v] of p.fields) obj[k] = v;
    opts.json = obj;
  }
  if (query.length > 0) opts.query = new URLSearchParams(query);
  if (p.timeout > 0) opts.timeout = p.timeout;
  if (!p.follow) opts.redirect = "manual";
  opts.maxRedirects = p.maxRedirects;
  if (p.output !== undefined) {
    opts.decompress = false; // save the bytes as sent; progress counts what is on the wire
    opts.maxResponseBytes = Number.POSITIVE_INFINITY;
  }
  if (p.verbose) {
    let first = true;
    opts.trace = (head) => {
      if (!first) io.stdout.write(outColor.dim("(redirect)\n"));
      first = false;
      printRequestHead(io.stdout, outColor, head);
      const b =
        opts.json !== undefined
          ? JSON.stringify(opts.json)
          : opts.form !== undefined
            ? new URLSearchParams(p.rawFields).toString()
            : undefined;
      if (b !== undefined && /^(POST|PUT|PATCH|DELETE)/.test(head)) io.stdout.write(`${b}\n\n`);
    };
  }
  let ca: Buffer | undefined;
  if (p.cacert !== undefined) {
    try {
      ca = readFileSync(resolve(io.cwd, p.cacert));
    } catch (e) {
      io.stderr.write(`phial: can't read --cacert ${p.cacert}: ${(e as Error).message}\n`);
      return 1;
    }
  }
  const client = new Client({
    tls: { ...(ca === undefined ? {} : { ca }), rejectUnauthorized: !p.insecure },
    decompress: true,
  });
  try {
    const res = await client.request(p.url, opts);
    if (!p.bodyOnly) printHead(io.stdout, outColor, res);
    if (p.headersOnly || method === "HEAD") {
      await res.cancel();
      return 0;
    }
    if (p.output !== undefined) {
      if (!p.bodyOnly) io.stdout.write("\n");
      await download(res, resolve(io.cwd, p.output), io);
      return 0;
    }
    const body = await res.bytes();
    if (body.length === 0) return 0;
    if (!p.bodyOnly) io.stdout.write("\n");
    const ct = res.headers.get("content-type");
    if (isJsonType(ct)) {
      const text = body.toString("utf8");
      let parsed: unknown;
      let ok = true;
      try {
        parsed = JSON.parse(text);
      } catch {
        ok = false;
      }
      io.stdout.write(ok ? `${prettyJson(parsed, outColor)}\n` : text.endsWith("\n") ? text : `${text}\n`);
    } else if (isTextType(ct) && !body.includes(0)) {
      const text = body.toString("utf8");
      io.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
    } else if (io.stdout.isTTY === true) {
      io.stdout.write(
        outColor.dim(
          `+-----------------------------------------+\n| binary data (${humanBytes(body.length)}) not shown; use -o FILE |\n+-----------------------------------------+\n`,
        ),
      );
    } else {
      io.stdout.write(body);
    }
    return 0;
  } catch (e) {
    const msg = e instanceof ClientError || e instanceof TypeError ? e.message : String(e);
    io.stderr.write(`${errColor.red("phial: error:")} ${msg}\n`);
    return 1;
  } finally {
    client.close();
  }
}
