// `sendFile`, `sendFromDirectory` and the static files view: the framework's side of file serving.
// The decisions (validators, conditions, ranges, disposition) live in file-response.ts, the path
// checks in safe-join.ts; this file turns them into a Response whose body streams from the disk
// (the wire sends it with its Content-Length and backpressure; HEAD and 304 open nothing).

import { createHash } from "node:crypto";
import type { Stats } from "node:fs";
import { open, stat } from "node:fs/promises";
import { basename, isAbsolute, resolve } from "node:path";
import mime from "mime-types";
import type { Phial } from "../app.ts";
import { currentApp, currentRequest } from "../context.ts";
import { compressible, markImmutableBody, negotiateEncoding } from "../serving/compression.ts";
import { NotFound, PreconditionFailed, RequestedRangeNotSatisfiable } from "../wrappers/exceptions.ts";
import type { Request } from "../wrappers/request.ts";
import { Response, type ResponseBody } from "../wrappers/response.ts";
import { type CachedFile, DEFAULT_FILE_CACHE_TTL, FileCache } from "./cache.ts";
import { FileBody, type FileRequest, planFileResponse, type SendFileOptions } from "./file-response.ts";
import { safeResolveFileStats } from "./safe-join.ts";

export type { SendFileOptions } from "./file-response.ts";

/** `sendFromDirectory`'s and the static files' options: `sendFile`'s, and whether dotfiles are served. */
export interface SendFromDirectoryOptions extends SendFileOptions {
  /**
   * Serve names with a segment starting with a dot (`.env`, `.git/config`, `a/.htpasswd`). Default:
   * `config.allowDotfiles` (false): such names are a 404, except the `.well-known/` folder (RFC 8615).
   */
  allowDotfiles?: boolean;
}

const NO_REQUEST: FileRequest = { method: "GET", header: () => undefined };

/** Each app's file cache (and one for calls made with no app at all). */
const caches = new WeakMap<object, FileCache>();
const appless = new FileCache();

function cacheOf(app: Phial | undefined): FileCache {
  if (app === undefined) return appless;
  let c = caches.get(app);
  if (c === undefined) {
    c = new FileCache();
    caches.set(app, c);
  }
  return c;
}

/**
 * How long the cache may believe an entry: 0 (ask the disk every time) unless the file is cached
 * (`options.cache`, default `byDefault`); then `config.fileCacheTtl`, else 1 s, but 0 in debug mode,
 * where files are edited.
 */
function ttlOf(app: Phial | undefined, options: SendFileOptions, byDefault: boolean): number {
  if (options.cache === undefined ? !byDefault : !options.cache) return 0;
  if (app === undefined) return DEFAULT_FILE_CACHE_TTL;
  const c = app.config;
  const t = c.fileCacheTtl;
  return t !== undefined ? t : c.debug === true ? 0 : DEFAULT_FILE_CACHE_TTL;
}

/** @internal the file cache of an app (tests, and `clear()` after replacing files in place). */
export function fileCacheOf(app: Phial | undefined): FileCache {
  return cacheOf(app);
}

/**
 * Sends the file at `path` (a relative path is relative to the app's folder, as in Flask), streamed
 * from disk with its media type, `ETag`, `Last-Modified` and `Cache-Control`, answering the current
 * request's conditional fields (304, 412) and a single `Range` (206, 416). A missing file or a folder
 * is a 404.
 *
 * Bytes in memory work too (Flask's `send_file(BytesIO(...))`): give a `downloadName` or `mimetype`
 * for the media type; the ETag is a hash of the bytes and there is no Last-Modified unless given.
 *
 * `path` is trusted: never build it from user input; use `sendFromDirectory` for that.
 *
 * ```ts
 * app.get("/report", () => sendFile("reports/latest.pdf", { asAttachment: true }));
 * app.get("/export", () => sendFile(Buffer.from(csv), { downloadName: "export.csv", asAttachment: true }));
 * ```
 */
export function sendFile(path: string | Uint8Array, options: SendFileOptions = {}): Promise<Response> {
  // The request is read now: after an await, a sync view's context is gone.
  const req = currentRequest();
  const app = req?.app ?? currentApp();
  if (typeof path !== "string") {
    try {
      return Promise.resolve(sendBytes(req, app, path, options));
    } catch (err) {
      return Promise.reject(err);
    }
  }
  return sendPath(req, app, fromRoot(app, path), options);
}

/**
 * Sends `name` (untrusted, e.g. a `<path:filename>` parameter) from inside `directory` (relative to
 * the app's folder): `..` segments, absolute paths, backslashes, NUL, drive letters, Windows device
 * names and symlinks leading out of the folder are all a 404, as is a missing file. So are dotfiles
 * and dot-folders (`.env`, `.git/config`) unless `allowDotfiles` (or `config.allowDotfiles`) is true;
 * `.well-known/` is served. Otherwise as `sendFile`.
 *
 * ```ts
 * app.get("/uploads/<path:name>", (req) =>
 *   sendFromDirectory("uploads", req.params.name, { asAttachment: true }));
 * ```
 */
export function sendFromDirectory(
  directory: string,
  name: string,
  options: SendFromDirectoryOptions = {},
): Promise<Response> {
  const req = currentRequest();
  const app = req?.app ?? currentApp();
  return sendFromFolder(req, app, fromRoot(app, directory), name, options, false);
}

/**
 * @internal `sendFromDirectory` with the request given; the static views cache by default
 * (`cacheByDefault`).
 */
export async function sendFromFolder(
  req: Request | undefined,
  app: Phial | undefined,
  folder: string,
  name: string,
  options: SendFromDirectoryOptions,
  cacheByDefault: boolean,
): Promise<Response> {
  const allow = options.allowDotfiles ?? app?.config.allowDotfiles === true;
  if (!allow && hasDotSegment(name)) throw new NotFound();
  const cache = cacheOf(app);
  const key = `${folder}\0${name}`;
  const found = await cache.lookup(
    key,
    ttlOf(app, options, cacheByDefault),
    safeResolveFileStats,
    folder,
    name,
  );
  if (found === undefined) throw new NotFound();
  // The name asked for decides the media type (a link `x.css` to a file `x` is still CSS).
  const slash = name.lastIndexOf("/");
  const base = slash === -1 ? name : name.slice(slash + 1);
  // With compression on, a precompressed neighbour (`app.css.br`, `app.css.gz`) the client accepts is
  // sent instead, with Content-Encoding (compression never touches an encoded response again).
  if (
    req !== undefined &&
    app !== undefined &&
    app.config.compression !== false &&
    compressible(mime.lookup(base) || undefined)
  ) {
    const enc = negotiateEncoding(req.header("accept-encoding"), ["br", "gzip"]);
    if (enc !== undefined) {
      const preName = `${name}.${enc === "br" ? "br" : "gz"}`;
      const preKey = `${folder}\0${preName}`;
      const ttl = ttlOf(app, options, cacheByDefault);
      const pre = await cache.lookup(preKey, ttl, safeResolveFileStats, folder, preName);
      if (pre !== undefined) {
        const res = await fileResponse(req, app, cache, preKey, pre, base, options);
        res.headers.set("Content-Encoding", enc);
        res.headers.append("Vary", "Accept-Encoding");
        return res;
      }
    }
  }
  return fileResponse(req, app, cache, key, found, base, options);
}

/**
 * True when a segment of `name` starts with a dot (`.env`, `.git/HEAD`, `a/.htpasswd`), other than a
 * leading `.well-known/` folder. `.` and `..` segments count too (safeJoin refuses `..` anyway).
 */
export function hasDotSegment(name: string): boolean {
  let i = 0;
  if (name.startsWith(".well-known/")) i = ".well-known/".length;
  for (;;) {
    while (name.charCodeAt(i) === 0x2f) i++;
    if (i >= name.length) return false;
    if (name.charCodeAt(i) === 0x2e) return true;
    const next = name.indexOf("/", i);
    if (next === -1) return false;
    i = next + 1;
  }
}

function fromRoot(app: Phial | undefined, p: string): string {
  if (isAbsolute(p)) return p;
  return app === undefined ? resolve(p) : resolve(app.root, p);
}

function sendBytes(
  req: Request | undefined,
  app: Phial | undefined,
  data: Uint8Array,
  options: SendFileOptions,
): Response {
  const opts = withDefaults(app, options);
  if (opts.etag === undefined || opts.etag === true) {
    opts.etag = createHash("sha256").update(data).digest("base64url").slice(0, 27);
  }
  const name = options.downloadName ?? "";
  const plan = planFileResponse({ name, size: data.byteLength, mtimeMs: Number.NaN }, fileRequest(req), opts);
  if (plan.status === 412) throw new PreconditionFailed();
  if (plan.status === 416) throw new RequestedRangeNotSatisfiable(data.byteLength);
  const body = plan.range === undefined ? null : data.subarray(plan.range.start, plan.range.end + 1);
  return new Response(body, { status: plan.status, headers: plan.headers });
}

/** The options with the app's `sendFileMaxAgeDefault` (a copy: the caller's object is not changed). */
function withDefaults(app: Phial | undefined, options: SendFileOptions): SendFileOptions {
  const maxAge = app?.config.sendFileMaxAgeDefault;
  return options.maxAge === undefined && maxAge !== undefined ? { ...options, maxAge } : { ...options };
}

function fileRequest(req: Request | undefined): FileRequest {
  return req === undefined ? NO_REQUEST : { method: req.method, header: (n) => req.header(n) };
}

async function sendPath(
  req: Request | undefined,
  app: Phial | undefined,
  path: string,
  options: SendFileOptions,
): Promise<Response> {
  const cache = cacheOf(app);
  const key = `\0${path}`;
  const found = await cache.lookup(key, ttlOf(app, options, false), statFile, path, "");
  if (found === undefined) throw new NotFound();
  return fileResponse(req, app, cache, key, found, basename(path), options);
}

/** A trusted path's stats, when it is a file. */
async function statFile(path: string, _unused: string): Promise<{ path: string; stats: Stats } | undefined> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch {
    return undefined;
  }
  return st.isFile() ? { path, stats: st } : undefined;
}

/**
 * Up to this many bytes are read in one go and leave with the head in one write (no stream to set
 * up: most static files are small); larger ones stream from the disk.
 */
const READ_WHOLE_MAX = 64 * 1024;

async function fileResponse(
  req: Request | undefined,
  app: Phial | undefined,
  cache: FileCache,
  key: string,
  file: CachedFile,
  name: string,
  options: SendFileOptions,
): Promise<Response> {
  const st = file.stats;
  const plan = planFileResponse(
    { name, size: st.size, mtimeMs: st.mtimeMs },
    fileRequest(req),
    withDefaults(app, options),
  );
  if (plan.status === 412) throw new PreconditionFailed();
  if (plan.status === 416) throw new RequestedRangeNotSatisfiable(st.size);
  let body: ResponseBody = null;
  const r = plan.range;
  if (r !== undefined && req?.method !== "HEAD") {
    const length = r.end - r.start + 1;
    // Small files come from memory (read once, then kept while the cache believes them).
    const data = file.data ?? (await cache.contents(key, file));
    if (data !== undefined) {
      if (length === data.length) {
        markImmutableBody(data); // the same Buffer every time: compression keeps its compressed forms
        body = data;
      } else body = data.subarray(r.start, r.end + 1);
    } else if (length <= READ_WHOLE_MAX) {
      body = await readRange(file.path, r.start, length);
    } else {
      body = new FileBody(file.path, r.start, r.end);
    }
  }
  return new Response(body, { status: plan.status, headers: plan.headers });
}

/** Reads `length` bytes at `start` (fewer if the file shrank since its stat: the wire frames what is sent). */
async function readRange(path: string, start: number, length: number): Promise<Buffer> {
  const fh = await open(path, "r");
  try {
    const buf = Buffer.allocUnsafe(length);
    let off = 0;
    while (off < length) {
      const { bytesRead } = await fh.read(buf, off, length - off, start + off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return off === length ? buf : buf.subarray(0, off);
  } finally {
    await fh.close();
  }
}
