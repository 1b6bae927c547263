// multipart/form-data, streamed through busboy (a linear-time boundary search): fields are kept in
// memory within limits, files are kept in memory while small and spooled to private temp files
// beyond a threshold, and `cleanup()` removes those files when the request is over. Every limit is
// checked as the bytes arrive, so an oversized upload is refused (413) before it is all received,
// and every malformed input is a 400: busboy's errors never escape as uncaught exceptions.

import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, type FileHandle, open, readFile, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import busboy from "busboy";
import { parseMediaType } from "../../http/media-type.ts";
import { PartHeadScanner } from "./part-headers.ts";

/** An uploaded file, as `req.files` holds it. */
export interface FileStorage {
  /** The form field's name. */
  readonly name: string;
  /** The file name the client sent, unchanged (may be "" or contain a path): pass it through `secureFilename()`. */
  readonly filename: string;
  /**
   * The part's Content-Type as the client sent it, parameters included (`text/plain; charset=utf-8`);
   * `text/plain` when it declared none.
   */
  readonly contentType: string;
  /** The media type, lowercased, without parameters. */
  readonly mimetype: string;
  /** The size in bytes. */
  readonly size: number;
  /** The whole content. */
  read(): Promise<Buffer>;
  /** The content as a stream of Buffers (from disk when the file was spooled). */
  stream(): AsyncIterable<Buffer>;
  /** Writes the content to `path` (replacing any file there). */
  save(path: string): Promise<void>;
}

/** Limits on a multipart body. Each one exceeded is a 413; malformed input is a 400. */
export interface MultipartLimits {
  /** Most bytes of body read (the app's `maxContentLength`). Default: no limit here. */
  maxBodySize?: number;
  /** Largest value of a non-file field, in bytes (the app's `maxFormMemorySize`). Default 500 000. */
  maxFieldSize?: number;
  /** Most parts, fields and files together (the app's `maxFormParts`). Default 1000. */
  maxParts?: number;
  /** Most non-file fields. Default: only `maxParts`. */
  maxFields?: number;
  /** Most files. Default: only `maxParts`. */
  maxFiles?: number;
  /** Largest file, in bytes. Default: no limit but `maxBodySize`. */
  maxFileSize?: number;
  /** Longest field name, in bytes. Default 1024. */
  maxFieldNameSize?: number;
  /** Files up to this size stay in memory; larger ones go to a temp file. Default 500 KiB. */
  memoryFileSize?: number;
  /** Most bytes of all files kept in memory together; beyond it, files go to disk. Default 10 MiB. */
  maxMemory?: number;
  /** Where temp files go. Default `os.tmpdir()`. */
  tempDir?: string;
}

/** A refused multipart body: `status` is 400 (malformed) or 413 (a limit exceeded). */
export class MultipartError extends Error {
  readonly status: 400 | 413;
  constructor(status: 400 | 413, message: string) {
    super(message);
    this.name = "MultipartError";
    this.status = status;
  }
}

/** What `parseMultipart` read. Call `cleanup()` once the request is over (it removes the temp files). */
export interface ParsedMultipart {
  /** Non-file fields in the order received. */
  fields: [string, string][];
  /** Files in the order received (a file input left empty arrives as a file with filename ""). */
  files: [string, FileStorage][];
  /** Removes the temp files. Safe to call more than once. */
  cleanup(): Promise<void>;
}

/** An uploaded file held in memory or in a temp file. */
export class UploadedFile implements FileStorage {
  readonly name: string;
  readonly filename: string;
  readonly contentType: string;
  readonly mimetype: string;
  /** @internal */ size = 0;
  /** @internal the content when kept in memory. */ buffer: Buffer | undefined;
  /** The temp file's path when the file was spooled to disk (removed after the request). */
  tempPath: string | undefined;

  constructor(name: string, filename: string, mimetype: string, contentType?: string) {
    this.name = name;
    this.filename = filename;
    this.mimetype = mimetype;
    // As sent, parameters included (Werkzeug's FileStorage.content_type), when it is the same type.
    this.contentType =
      contentType !== undefined && parseMediaType(contentType)?.essence === mimetype ? contentType : mimetype;
  }

  read(): Promise<Buffer> {
    if (this.tempPath !== undefined) return readFile(this.tempPath);
    return Promise.resolve(this.buffer ?? Buffer.alloc(0));
  }

  stream(): AsyncIterable<Buffer> {
    if (this.tempPath !== undefined) return createReadStream(this.tempPath, { highWaterMark: 64 * 1024 });
    const buf = this.buffer ?? Buffer.alloc(0);
    return {
      async *[Symbol.asyncIterator]() {
        if (buf.length > 0) yield buf;
      },
    };
  }

  async save(path: string): Promise<void> {
    if (this.tempPath !== undefined) await copyFile(this.tempPath, path);
    else await writeFile(path, this.buffer ?? Buffer.alloc(0));
  }

  /** A short description for logs, never the content. */
  toString(): string {
    return `<FileStorage ${JSON.stringify(this.filename)} (${this.mimetype}, ${this.size} bytes)>`;
  }
}

/** True when a Content-Type is multipart/form-data (any case, with parameters). */
export function isMultipartFormData(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semi = contentType.indexOf(";");
  return (
    (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === "multipart/form-data"
  );
}

const DEFAULTS = {
  maxBodySize: Number.POSITIVE_INFINITY,
  maxFieldSize: 500_000,
  maxParts: 1000,
  maxFileSize: Number.POSITIVE_INFINITY,
  maxFieldNameSize: 1024,
  memoryFileSize: 500 * 1024,
  maxMemory: 10 * 1024 * 1024,
};

/** busboy's limits are "reached" limits; ours are "exceeded": one more, capped to stay an integer. */
function plusOne(n: number): number {
  return Number.isFinite(n) ? Math.floor(n) + 1 : Number.MAX_SAFE_INTEGER;
}

/** Maps busboy's error messages to a status and a message that says what to fix. */
function toMultipartError(err: unknown): MultipartError {
  if (err instanceof MultipartError) return err;
  const m = err instanceof Error ? err.message : String(err);
  if (m.includes("Boundary not found")) {
    return new MultipartError(
      400,
      "The multipart/form-data body has no boundary parameter in its Content-Type",
    );
  }
  if (m.includes("Malformed part header")) {
    return new MultipartError(
      400,
      "A part of the multipart body has a malformed or too large header (16 KiB at most)",
    );
  }
  if (m.includes("Unexpected end")) {
    return new MultipartError(
      400,
      "The multipart body ended before its closing boundary (truncated upload?)",
    );
  }
  return new MultipartError(400, `The multipart body is malformed: ${m}`);
}

/**
 * Reads a multipart/form-data body. `contentType` is the request's Content-Type (its boundary is
 * used); `body` yields the raw bytes. Resolves once the whole body is read and every file is stored;
 * rejects with a `MultipartError` (400/413), or with the body's own error when reading it fails, after
 * removing any temp file it made.
 */
export async function parseMultipart(
  contentType: string,
  body: AsyncIterable<Buffer | Uint8Array>,
  limits: MultipartLimits = {},
): Promise<ParsedMultipart> {
  const maxBodySize = limits.maxBodySize ?? DEFAULTS.maxBodySize;
  const maxFieldSize = limits.maxFieldSize ?? DEFAULTS.maxFieldSize;
  const maxParts = limits.maxParts ?? DEFAULTS.maxParts;
  const maxFields = limits.maxFields ?? Number.POSITIVE_INFINITY; // `maxParts` bounds them anyway
  const maxFiles = limits.maxFiles ?? Number.POSITIVE_INFINITY;
  const maxFileSize = limits.maxFileSize ?? DEFAULTS.maxFileSize;
  const maxFieldNameSize = limits.maxFieldNameSize ?? DEFAULTS.maxFieldNameSize;
  const memoryFileSize = limits.memoryFileSize ?? DEFAULTS.memoryFileSize;
  const maxMemory = limits.maxMemory ?? DEFAULTS.maxMemory;
  const tempDir = limits.tempDir ?? tmpdir();

  const fields: [string, string][] = [];
  const files: [string, FileStorage][] = [];
  const tempPaths: string[] = [];
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    await Promise.all(tempPaths.map((p) => unlink(p).catch(() => undefined)));
  };

  let bb: busboy.Busboy;
  try {
    bb = busboy({
      headers: { "content-type": contentType },
      defParamCharset: "utf8", // browsers send file names as raw UTF-8
      preservePath: true, // `filename` as sent; secureFilename() is the app's tool
      limits: {
        fieldSize: plusOne(maxFieldSize),
        fileSize: plusOne(maxFileSize),
        fields: Number.isFinite(maxFields) ? maxFields : undefined,
        files: Number.isFinite(maxFiles) ? maxFiles : undefined,
        parts: plusOne(maxParts),
      },
    });
  } catch (err) {
    throw toMultipartError(err);
  }

  // The parts' Content-Type values with their parameters (busboy gives only `type/subtype`).
  const boundary = parseMediaType(contentType)?.params.boundary;
  const heads = boundary === undefined || boundary === "" ? undefined : new PartHeadScanner(boundary);

  let failure: MultipartError | undefined;
  const fail = (err: MultipartError): void => {
    if (failure !== undefined) return;
    failure = err;
    // Not synchronously: this runs inside busboy's own callbacks, and busboy 1.6 touches its state
    // after emitting (destroying it there throws a TypeError out of write()). Until then every
    // handler sees `failure` and drops what comes.
    process.nextTick(() => bb.destroy());
  };
  let parts = 0;
  let memoryUsed = 0;
  const storing: Promise<void>[] = [];

  const checkName = (name: string | undefined): name is string => {
    if (name === undefined || name.length === 0) {
      fail(new MultipartError(400, 'A part of the multipart body has no field name (name="...")'));
      return false;
    }
    if (Buffer.byteLength(name) > maxFieldNameSize) {
      fail(new MultipartError(413, `A multipart field name is longer than ${maxFieldNameSize} bytes`));
      return false;
    }
    if (++parts > maxParts) {
      fail(new MultipartError(413, `The form has more than ${maxParts} parts (maxFormParts)`));
      return false;
    }
    return true;
  };

  bb.on("field", (name: string | undefined, value: string, info: busboy.FieldInfo) => {
    heads?.take();
    if (failure !== undefined || !checkName(name)) return;
    if (info.valueTruncated) {
      fail(
        new MultipartError(
          413,
          `The form field "${name}" is larger than ${maxFieldSize} bytes (maxFormMemorySize)`,
        ),
      );
      return;
    }
    fields.push([name, value]);
  });

  bb.on("file", (name: string | undefined, stream: Readable, info: busboy.FileInfo) => {
    // busboy destroys the file stream with an error when the body breaks off; that error is
    // reported through busboy's own 'error' event, so here it only must not go uncaught.
    stream.on("error", ignore);
    const head = heads?.take();
    if (failure !== undefined || !checkName(name)) {
      stream.resume();
      return;
    }
    const file = new UploadedFile(name, info.filename ?? "", info.mimeType, head?.contentType);
    files.push([name, file]);
    stream.once("limit", () => {
      fail(new MultipartError(413, `The file "${file.filename}" is larger than ${maxFileSize} bytes`));
    });
    storing.push(store(stream, file));
  });

  /** Keeps a file in memory while it is small, then moves it to a temp file. */
  const store = async (stream: Readable, file: UploadedFile): Promise<void> => {
    const chunks: Buffer[] = [];
    let size = 0;
    let fh: FileHandle | undefined;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        if (failure !== undefined) break;
        size += chunk.length;
        if (fh === undefined && (size > memoryFileSize || memoryUsed + chunk.length > maxMemory)) {
          const path = join(tempDir, `phial-upload-${randomBytes(16).toString("hex")}`);
          tempPaths.push(path); // before opening: cleanup() removes it whatever happens next
          file.tempPath = path;
          fh = await open(path, "wx", 0o600);
          for (const c of chunks) await fh.write(c);
          for (const c of chunks) memoryUsed -= c.length;
          chunks.length = 0;
        }
        if (fh !== undefined) await fh.write(chunk);
        else {
          chunks.push(chunk);
          memoryUsed += chunk.length;
        }
      }
      file.size = size;
      if (fh === undefined) file.buffer = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    } catch (err) {
      // busboy destroys the file stream when the body breaks off; its own 'error' says why.
      if (failure === undefined && (err as NodeJS.ErrnoException).code !== undefined) {
        fail(new MultipartError(413, `Could not store the uploaded file: ${(err as Error).message}`));
      }
    } finally {
      await fh?.close().catch(() => undefined);
    }
  };

  bb.on("error", (err: unknown) => fail(toMultipartError(err)));
  bb.on("partsLimit", () =>
    fail(new MultipartError(413, `The form has more than ${maxParts} parts (maxFormParts)`)),
  );
  bb.on("filesLimit", () => fail(new MultipartError(413, `The form has more than ${maxFiles} files`)));
  bb.on("fieldsLimit", () => fail(new MultipartError(413, `The form has more than ${maxFields} fields`)));
  const closed = new Promise<void>((resolve) => bb.once("close", resolve));

  let bodyError: unknown;
  try {
    let total = 0;
    for await (const chunk of body) {
      if (failure !== undefined) break;
      total += chunk.length;
      if (total > maxBodySize) {
        fail(
          new MultipartError(413, `The request body is larger than ${maxBodySize} bytes (maxContentLength)`),
        );
        break;
      }
      let more: boolean;
      try {
        heads?.push(chunk);
        more = bb.write(chunk);
      } catch (err) {
        fail(toMultipartError(err)); // busboy failing on its input is still bad input, not a crash
        break;
      }
      if (!more) await drained(bb);
    }
    if (failure === undefined) bb.end();
  } catch (err) {
    // The body stream itself failed (the client went away, bad framing): its error is the answer.
    bodyError = err;
    fail(new MultipartError(400, `The request body could not be read: ${(err as Error).message}`));
  }
  await closed;
  await Promise.all(storing);
  if (failure !== undefined) {
    await cleanup();
    throw bodyError ?? failure;
  }
  return { fields, files, cleanup };
}

function ignore(): void {}

/** Resolves when busboy takes more input, or once it is closed (failed or destroyed). */
function drained(bb: busboy.Busboy): Promise<void> {
  if (bb.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      bb.off("drain", done);
      bb.off("close", done);
      resolve();
    };
    bb.on("drain", done);
    bb.on("close", done);
  });
}

/** A file for `encodeMultipart` (and the test client's `files` option). */
export interface MultipartFile {
  data: string | Uint8Array;
  /** Default: the field's name. */
  filename?: string;
  /** Default `application/octet-stream`. */
  contentType?: string;
}

/** Quotes a name for a Content-Disposition parameter as browsers do (HTML's form encoding). */
function quoteParam(s: string): string {
  return s.replace(/\r/g, "%0D").replace(/\n/g, "%0A").replace(/"/g, "%22");
}

/**
 * Encodes fields and files as a multipart/form-data body, as a browser would: for tests and clients.
 * Returns the body and its Content-Type (with a random boundary).
 */
export function encodeMultipart(
  fields: readonly (readonly [string, string])[],
  files: readonly (readonly [string, MultipartFile])[] = [],
): { body: Buffer; contentType: string } {
  const boundary = `----PhialFormBoundary${randomBytes(12).toString("hex")}`;
  const out: Buffer[] = [];
  for (const [name, value] of fields) {
    out.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${quoteParam(name)}"\r\n\r\n`),
      Buffer.from(value, "utf8"),
      Buffer.from("\r\n"),
    );
  }
  for (const [name, f] of files) {
    const head =
      `--${boundary}\r\nContent-Disposition: form-data; name="${quoteParam(name)}"; ` +
      `filename="${quoteParam(f.filename ?? name)}"\r\nContent-Type: ${f.contentType ?? "application/octet-stream"}\r\n\r\n`;
    out.push(
      Buffer.from(head),
      typeof f.data === "string" ? Buffer.from(f.data, "utf8") : Buffer.from(f.data),
    );
    out.push(Buffer.from("\r\n"));
  }
  out.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(out), contentType: `multipart/form-data; boundary=${boundary}` };
}
