// `sendFile`, `sendFromDirectory` and the static files view: the framework's side of file serving.
// The decisions (validators, conditions, ranges, disposition) live in file-response.ts, the path
// checks in safe-join.ts; this file turns them into a Response whose body streams from the disk
// (the wire sends it with its Content-Length and backpressure; HEAD and 304 open nothing).

import { createHash } from "node:crypto";
import type { Stats } from "node:fs";
import { open, stat } from "node:fs/promises";
import { basename, isAbsolute, resolve } from "node:path";
import type { Phial } from "../app.ts";
import { currentApp, currentRequest } from "../context.ts";
import { NotFound, PreconditionFailed, RequestedRangeNotSatisfiable } from "../wrappers/exceptions.ts";
import type { Request } from "../wrappers/request.ts";
import { Response, type ResponseBody } from "../wrappers/response.ts";
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
  return sendFromFolder(req, app, fromRoot(app, directory), name, options);
}

/** @internal `sendFromDirectory` with the request given (the static views). */
export async function sendFromFolder(
  req: Request | undefined,
  app: Phial | undefined,
  folder: string,
  name: string,
  options: SendFromDirectoryOptions,
): Promise<Response> {
  const allow = options.allowDotfiles ?? app?.config.allowDotfiles === true;
  if (!allow && hasDotSegment(name)) throw new NotFound();
  const found = await safeResolveFileStats(folder, name);
  if (found === undefined) throw new NotFound();
  // The name asked for decides the media type (a link `x.css` to a file `x` is still CSS).
  const slash = name.lastIndexOf("/");
  return fileResponse(
    req,
    app,
    found.path,
    slash === -1 ? name : name.slice(slash + 1),
    found.stats,
    options,
  );
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
  let st: Stats;
  try {
    st = await stat(path);
  } catch {
    throw new NotFound();
  }
  if (!st.isFile()) throw new NotFound();
  return fileResponse(req, app, path, basename(path), st, options);
}

/**
 * Up to this many bytes are read in one go and leave with the head in one write (no stream to set
 * up: most static files are small); larger ones stream from the disk.
 */
const READ_WHOLE_MAX = 64 * 1024;

async function fileResponse(
  req: Request | undefined,
  app: Phial | undefined,
  path: string,
  name: string,
  st: Stats,
  options: SendFileOptions,
): Promise<Response> {
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
    body =
      length <= READ_WHOLE_MAX ? await readRange(path, r.start, length) : new FileBody(path, r.start, r.end);
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
