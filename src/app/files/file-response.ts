// Serving a file: media type, validators (ETag, Last-Modified), conditional requests (304/412),
// a single byte range (206/416), Cache-Control and Content-Disposition. Pure decisions first
// (`planFileResponse`, no I/O, unit-tested on their own), then a lazily opened, streamed body
// (`FileBody`) so a 1 GiB file costs one 64 KiB buffer at a time and a HEAD or a 304 opens nothing.

import { createReadStream } from "node:fs";
import mime from "mime-types";
import { isToken } from "../../http/fields.ts";
import { etagListMatches, parseHttpDate } from "../wrappers/http-values.ts";

export { etagListMatches, parseHttpDate };

/** How a file is sent; the options of `sendFile` and `sendFromDirectory`. */
export interface SendFileOptions {
  /** The media type; guessed from `downloadName` or the file's name when absent. */
  mimetype?: string;
  /** Send `Content-Disposition: attachment` so the browser saves the file instead of showing it. */
  asAttachment?: boolean;
  /**
   * The name the browser saves the file as (default: the file's own name). Given without
   * `asAttachment`, the disposition is `inline` with this name.
   */
  downloadName?: string;
  /**
   * Seconds the client may reuse the file without asking again: `Cache-Control: public, max-age=N`.
   * Absent or 0: `Cache-Control: no-cache` (the client revalidates with the ETag each time).
   */
  maxAge?: number;
  /** Answer conditional (`If-None-Match`, `If-Modified-Since`, …) and `Range` requests. Default true. */
  conditional?: boolean;
  /** `true` (default): an ETag from size and modification time; a string: this ETag; `false`: none. */
  etag?: boolean | string;
  /** The Last-Modified time; default the file's modification time; `null` for none. */
  lastModified?: Date | null;
  /**
   * Believe what was learnt from the disk (path checks, size, mtime, the bytes of a file up to 64 KiB)
   * for `config.fileCacheTtl` ms instead of asking again on every request. Default: true for static
   * folders (deployed assets), false for `sendFile` and `sendFromDirectory` (files the app may change or
   * delete, whose change must show at once). Never in debug mode unless `fileCacheTtl` is set.
   */
  cache?: boolean;
}

/** What `planFileResponse` needs to know about the file. */
export interface FileInfo {
  /** The name used to guess the media type and as the default download name. */
  readonly name: string;
  readonly size: number;
  /** Modification time in milliseconds since the epoch (`fs.Stats.mtimeMs`). */
  readonly mtimeMs: number;
}

/** The request fields that decide a file response. */
export interface FileRequest {
  readonly method: string;
  /** A request header's value (case-insensitive name), or undefined. */
  header(name: string): string | undefined;
}

export interface FilePlan {
  status: 200 | 206 | 304 | 412 | 416;
  /** Response fields in sending order (Content-Length included, even for HEAD). */
  headers: [string, string][];
  /** The bytes to send, both ends inclusive; undefined when the response has no body. */
  range: { start: number; end: number } | undefined;
}

/** True for media types that carry text and so get `; charset=utf-8`. */
export function isTextMimetype(mimetype: string): boolean {
  return (
    mimetype.startsWith("text/") ||
    mimetype === "application/javascript" ||
    mimetype === "application/ecmascript" ||
    mimetype === "application/xml" ||
    mimetype.endsWith("+xml")
  );
}

/** The media type for a file name (`application/octet-stream` when unknown). */
export function guessMimetype(name: string): string {
  const t = mime.lookup(name);
  return t === false ? "application/octet-stream" : t;
}

/** The Content-Type for a media type: `; charset=utf-8` added to text types without parameters. */
export function contentTypeFor(mimetype: string): string {
  return isTextMimetype(mimetype) && !mimetype.includes(";") ? `${mimetype}; charset=utf-8` : mimetype;
}

/**
 * The default ETag: **strong**, from the size and the modification time in microseconds, e.g.
 * `"1f4-5f1c2a9b3e8c0"`. Strong because `If-Range` accepts only strong validators, and the browser's
 * resumed downloads and video seeking rely on it; a file rewritten with the same size within the same
 * microsecond would keep its tag (the same trade Werkzeug and nginx make). No inode or path: copies of
 * the same file behind a load balancer get the same tag.
 */
export function fileEtag(size: number, mtimeMs: number): string {
  return `"${size.toString(16)}-${Math.floor(mtimeMs * 1000).toString(16)}"`;
}

/** `"x"` for a bare `x`; a value already quoted (or `W/"x"`) is kept. */
function quoteEtag(etag: string): string {
  if (etag.startsWith('"') || etag.startsWith('W/"')) return etag;
  if (etag.includes('"'))
    throw new TypeError(`sendFile(): the etag ${JSON.stringify(etag)} contains a quote`);
  return `"${etag}"`;
}

/** The result of reading a `Range` field against a representation of `size` bytes. */
export type RangeResult =
  | { kind: "none" } // absent, not bytes, malformed or several ranges: send everything (200)
  | { kind: "range"; start: number; end: number }
  | { kind: "unsatisfiable" }; // 416

const MAX_DIGITS = 15; // beyond this a number is larger than any file (and than 2^53)

function parseDigits(s: string): number | undefined {
  if (s.length === 0) return undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  if (s.length > MAX_DIGITS) return Number.POSITIVE_INFINITY;
  return Number(s);
}

/**
 * Reads a `Range` field (RFC 9110 §14.2): one `bytes` range. Several ranges are answered with the
 * whole file (multipart/byteranges is rarely used and a known amplification vector).
 */
export function parseRange(header: string, size: number): RangeResult {
  const eq = header.indexOf("=");
  if (eq === -1 || header.slice(0, eq).trim().toLowerCase() !== "bytes") return { kind: "none" };
  const specs = header
    .slice(eq + 1)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (specs.length !== 1) return { kind: "none" };
  const spec = specs[0]!;
  const dash = spec.indexOf("-");
  if (dash === -1) return { kind: "none" };
  const a = spec.slice(0, dash).trim();
  const b = spec.slice(dash + 1).trim();
  if (a.length === 0) {
    const suffix = parseDigits(b);
    if (suffix === undefined) return { kind: "none" };
    if (suffix === 0) return { kind: "unsatisfiable" };
    return { kind: "range", start: Math.max(0, size - suffix), end: size - 1 };
  }
  const first = parseDigits(a);
  if (first === undefined) return { kind: "none" };
  let last = size - 1;
  if (b.length > 0) {
    const l = parseDigits(b);
    if (l === undefined || l < first) return { kind: "none" };
    last = Math.min(l, size - 1);
  }
  if (first >= size) return { kind: "unsatisfiable" };
  return { kind: "range", start: first, end: last };
}

/** Control characters can't go in a field; they are dropped from download names. */
function stripControls(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, "");
}

/** RFC 5987 attr-chars are kept; everything else is percent-encoded as UTF-8. */
function encodeRfc5987(s: string): string {
  // encodeURIComponent throws on a lone surrogate: replace those first.
  const wellFormed = s.replace(
    /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    "\uFFFD",
  );
  return encodeURIComponent(wellFormed).replace(
    /[*'()]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * A Content-Disposition value (RFC 6266): `attachment; filename="report.pdf"`. A name outside ASCII
 * gets an ASCII fallback (accents folded, other characters as `_`) in `filename` and the exact name
 * as UTF-8 in `filename*` (RFC 5987), which every current browser prefers.
 */
export function contentDisposition(type: "attachment" | "inline", filename: string): string {
  const name = stripControls(filename);
  let ascii = true;
  for (let i = 0; i < name.length; i++) {
    if (name.charCodeAt(i) > 0x7e) {
      ascii = false;
      break;
    }
  }
  const fallback = ascii
    ? name
    : name
        .normalize("NFKD")
        .replace(/\p{M}/gu, "")
        .replace(/[^\x20-\x7e]/g, "_");
  // Quoted only when it is not a token, as Werkzeug's dump_options_header: `inline; filename=a.txt`.
  let v = isToken(fallback)
    ? `${type}; filename=${fallback}`
    : `${type}; filename="${fallback.replace(/[\\"]/g, "\\$&")}"`;
  if (!ascii) v += `; filename*=UTF-8''${encodeRfc5987(name)}`;
  return v;
}

/** The Cache-Control value for `maxAge` seconds. */
export function cacheControl(maxAge: number | undefined): string {
  if (maxAge === undefined || maxAge <= 0) return "no-cache";
  if (!Number.isFinite(maxAge)) throw new RangeError(`sendFile(): maxAge must be a finite number of seconds`);
  return `public, max-age=${Math.floor(maxAge)}`;
}

/**
 * A 304's fields: with an ETag, no Last-Modified (RFC 9110 §15.4.5: a 304 sends other metadata only
 * to guide cache updates, and Last-Modified only helps when there is no ETag).
 */
function notModified(validators: [string, string][], etag: string | undefined): [string, string][] {
  return etag === undefined ? validators : validators.filter((v) => v[0] !== "Last-Modified");
}

/** The base name of a slash- or backslash-separated path. */
function baseName(p: string): string {
  const i = Math.max(p.lastIndexOf("/"), p.lastIndexOf("\\"));
  return i === -1 ? p : p.slice(i + 1);
}

/**
 * Decides the response for a file: status, fields and the byte range to send. Pure: the caller did
 * the `stat`. Conditions are evaluated in the order of RFC 9110 §13.2.2: If-Match, If-Unmodified-Since,
 * If-None-Match, If-Modified-Since, then If-Range and Range (GET only).
 */
export function planFileResponse(file: FileInfo, req: FileRequest, options: SendFileOptions = {}): FilePlan {
  const size = file.size;
  const headers: [string, string][] = [];
  // Werkzeug names every file it sends (`inline` unless `asAttachment`); a buffer has a name only if given.
  const downloadName = options.downloadName ?? (file.name !== "" ? baseName(file.name) : undefined);
  const mimetype = options.mimetype ?? guessMimetype(downloadName ?? file.name);
  const etag =
    options.etag === false
      ? undefined
      : typeof options.etag === "string"
        ? quoteEtag(options.etag)
        : fileEtag(size, file.mtimeMs);
  const lm =
    options.lastModified === null
      ? undefined
      : options.lastModified instanceof Date
        ? options.lastModified.getTime()
        : file.mtimeMs;
  const lastModified = lm === undefined || Number.isNaN(lm) ? undefined : Math.floor(lm / 1000);
  const conditional = options.conditional !== false;

  const validators: [string, string][] = [];
  if (etag !== undefined) validators.push(["ETag", etag]);
  if (lastModified !== undefined)
    validators.push(["Last-Modified", new Date(lastModified * 1000).toUTCString()]);
  validators.push(["Cache-Control", cacheControl(options.maxAge)]);
  if (options.maxAge !== undefined && Number.isFinite(options.maxAge)) {
    // As Werkzeug's send_file: Expires for caches that only know HTTP/1.0's field.
    validators.push([
      "Expires",
      new Date((Math.floor(Date.now() / 1000) + Math.floor(options.maxAge)) * 1000).toUTCString(),
    ]);
  }

  if (conditional) {
    const method = req.method;
    const safe = method === "GET" || method === "HEAD";
    const ifMatch = req.header("if-match");
    if (ifMatch !== undefined) {
      const ok = ifMatch.trim() === "*" || (etag !== undefined && etagListMatches(ifMatch, etag, false));
      if (!ok) return { status: 412, headers: validators, range: undefined };
    } else {
      const ius = req.header("if-unmodified-since");
      const t = ius === undefined ? undefined : parseHttpDate(ius);
      if (t !== undefined && lastModified !== undefined && lastModified > t) {
        return { status: 412, headers: validators, range: undefined };
      }
    }
    const inm = req.header("if-none-match");
    if (inm !== undefined) {
      if (inm.trim() === "*" || (etag !== undefined && etagListMatches(inm, etag, true))) {
        return {
          status: safe ? 304 : 412,
          headers: safe ? notModified(validators, etag) : validators,
          range: undefined,
        };
      }
    } else if (safe) {
      const ims = req.header("if-modified-since");
      const t = ims === undefined ? undefined : parseHttpDate(ims);
      if (t !== undefined && lastModified !== undefined && lastModified <= t) {
        return { status: 304, headers: notModified(validators, etag), range: undefined };
      }
    }
  }

  headers.push(["Content-Type", contentTypeFor(mimetype)]);
  if (downloadName !== undefined) {
    headers.push([
      "Content-Disposition",
      contentDisposition(options.asAttachment ? "attachment" : "inline", downloadName),
    ]);
  }
  for (const v of validators) headers.push(v);
  if (conditional) headers.push(["Accept-Ranges", "bytes"]);

  let status: 200 | 206 = 200;
  let start = 0;
  let end = size - 1;
  const rangeHeader = conditional && req.method === "GET" && size > 0 ? req.header("range") : undefined;
  if (rangeHeader !== undefined && ifRangeHolds(req.header("if-range"), etag, lastModified)) {
    const r = parseRange(rangeHeader, size);
    if (r.kind === "unsatisfiable") {
      // The 416 keeps only what describes the representation; its body is the caller's.
      return {
        status: 416,
        headers: [["Content-Range", `bytes */${size}`], ...validators],
        range: undefined,
      };
    }
    if (r.kind === "range") {
      status = 206;
      start = r.start;
      end = r.end;
      headers.push(["Content-Range", `bytes ${start}-${end}/${size}`]);
    }
  }
  headers.push(["Content-Length", String(end - start + 1)]);
  return { status, headers, range: end >= start ? { start, end } : undefined };
}

/** `If-Range`: the range applies only if the client's copy is still current (strong comparison). */
function ifRangeHolds(
  ifRange: string | undefined,
  etag: string | undefined,
  lastModified: number | undefined,
): boolean {
  if (ifRange === undefined) return true;
  const v = ifRange.trim();
  if (v.startsWith('"') || v.startsWith("W/")) return etag !== undefined && etagListMatches(v, etag, false);
  const t = parseHttpDate(v);
  return t !== undefined && lastModified !== undefined && t === lastModified;
}

/** Bytes read from the disk at a time. */
const READ_CHUNK = 64 * 1024;

/**
 * A file's bytes `start`..`end` (inclusive) as a stream of Buffers. Nothing is opened until the body
 * is iterated, so a HEAD, a replaced response or a client gone early leaks no descriptor; breaking
 * out of the loop closes the file.
 */
export class FileBody implements AsyncIterable<Buffer> {
  readonly path: string;
  readonly start: number;
  readonly end: number;

  constructor(path: string, start: number, end: number) {
    this.path = path;
    this.start = start;
    this.end = end;
  }

  /** The number of bytes this body yields. */
  get length(): number {
    return this.end - this.start + 1;
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    // The file opens on the first next(): getting an iterator only to return() it (what a HEAD or a
    // dropped response does) costs nothing.
    let it: AsyncIterator<Buffer> | undefined;
    const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
    return {
      next: () => {
        it ??= createReadStream(this.path, {
          start: this.start,
          end: this.end,
          highWaterMark: READ_CHUNK,
        })[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
        return it.next();
      },
      return: async () => {
        if (it?.return !== undefined) await it.return();
        return done;
      },
    };
  }
}
