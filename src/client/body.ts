// Request bodies: strings, bytes, JSON, urlencoded forms, multipart with files, and async iterables
// (sent chunked). Each is prepared once into a `PreparedBody`, which a redirect or a retry can replay
// when its source allows.

import { randomBytes } from "node:crypto";

/** A file part of a multipart body. `data` may be bytes, text, or a `Blob` (e.g. from `fs.openAsBlob`). */
export interface MultipartFile {
  data: string | Uint8Array | Blob;
  /** The filename sent in Content-Disposition. Defaults to the `File`'s name or "blob". */
  filename?: string;
  /** Defaults to the Blob's type, else `application/octet-stream`. */
  contentType?: string;
}

/** A value of a multipart field: text, bytes or a Blob/File, or a file described explicitly. */
export type MultipartValue = string | number | Uint8Array | Blob | MultipartFile;

/** Multipart input: a record (arrays repeat the field), a list of pairs, or a web `FormData`. */
export type MultipartInit =
  | Readonly<Record<string, MultipartValue | readonly MultipartValue[]>>
  | readonly (readonly [string, MultipartValue])[]
  | FormData;

/** Urlencoded form input. */
export type FormInit =
  | Readonly<Record<string, string | number | boolean | readonly (string | number | boolean)[]>>
  | readonly (readonly [string, string])[]
  | URLSearchParams;

/** A raw request body: text (UTF-8), bytes, a Blob, or an async iterable of chunks (sent chunked). */
export type BodyInit =
  | string
  | Uint8Array
  | ArrayBuffer
  | Blob
  | AsyncIterable<Uint8Array | string>
  | Iterable<Uint8Array | string>;

/** A body ready to go on the wire. */
export interface PreparedBody {
  /** The whole body when it is in memory. */
  bytes: Buffer | undefined;
  /** The body as UTF-8 text, when it was given as a string (written next to the head without a copy). */
  text: string | undefined;
  /** Bytes, or -1 when unknown (then the body is sent chunked). */
  length: number;
  /** Produces the chunks of a body that is not in memory. */
  stream: (() => AsyncIterable<Uint8Array | string>) | undefined;
  /** A redirect or a retry may send it again. */
  replayable: boolean;
  /** Content-Type implied by the kind of body, when the caller did not set one. */
  contentType: string | undefined;
}

function inMemory(bytes: Buffer, contentType: string | undefined): PreparedBody {
  return { bytes, text: undefined, length: bytes.length, stream: undefined, replayable: true, contentType };
}

/** A text body, kept as a string until it is written. */
export function textBody(text: string, contentType: string | undefined): PreparedBody {
  return {
    bytes: undefined,
    text,
    length: Buffer.byteLength(text),
    stream: undefined,
    replayable: true,
    contentType,
  };
}

export function jsonBody(value: unknown): PreparedBody {
  const text = JSON.stringify(value);
  if (text === undefined)
    throw new TypeError("The json option can't be serialised (it is undefined or a function)");
  return textBody(text, "application/json");
}

export function formBody(form: FormInit): PreparedBody {
  let params: URLSearchParams;
  if (form instanceof URLSearchParams) params = form;
  else if (Array.isArray(form)) params = new URLSearchParams(form as [string, string][]);
  else {
    params = new URLSearchParams();
    const rec = form as Readonly<
      Record<string, string | number | boolean | readonly (string | number | boolean)[]>
    >;
    for (const k in rec) {
      const v = rec[k]!;
      if (typeof v === "object") for (const one of v) params.append(k, String(one));
      else params.append(k, String(v));
    }
  }
  return textBody(params.toString(), "application/x-www-form-urlencoded");
}

export function rawBody(body: BodyInit): PreparedBody {
  if (typeof body === "string") return textBody(body, "text/plain; charset=utf-8");
  if (body instanceof Uint8Array) return inMemory(toBuffer(body), undefined);
  if (body instanceof ArrayBuffer) return inMemory(Buffer.from(body), undefined);
  if (typeof Blob !== "undefined" && body instanceof Blob) {
    const blob = body;
    return {
      bytes: undefined,
      text: undefined,
      length: blob.size,
      stream: () => blob.stream() as unknown as AsyncIterable<Uint8Array>,
      replayable: true,
      contentType: blob.type === "" ? undefined : blob.type,
    };
  }
  if (body !== null && typeof body === "object") {
    if (Symbol.asyncIterator in body) {
      const it = body as AsyncIterable<Uint8Array | string>;
      return {
        bytes: undefined,
        text: undefined,
        length: -1,
        stream: () => it,
        replayable: false,
        contentType: undefined,
      };
    }
    if (Symbol.iterator in body) {
      const it = body as Iterable<Uint8Array | string>;
      const chunks: Buffer[] = [];
      for (const c of it) chunks.push(typeof c === "string" ? Buffer.from(c) : toBuffer(c));
      return inMemory(Buffer.concat(chunks), undefined);
    }
  }
  throw new TypeError(
    "Unsupported body: pass a string, Uint8Array, ArrayBuffer, Blob or async iterable (or use json/form/multipart)",
  );
}

export function toBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Quotes a name or filename for Content-Disposition the way browsers do (HTML form submission). */
function dispositionParam(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += "%22";
    else if (c === 0x0d) out += "%0D";
    else if (c === 0x0a) out += "%0A";
    else out += s[i];
  }
  return out;
}

interface Part {
  head: Buffer;
  data: Buffer | Blob;
}

/** A fresh boundary from the CSPRNG (never Math.random: CVE-2025-22150). */
export function newBoundary(): string {
  return `----phial-${randomBytes(16).toString("hex")}`;
}

export function multipartBody(init: MultipartInit, boundary = newBoundary()): PreparedBody {
  const pairs: [string, MultipartValue][] = [];
  if (typeof FormData !== "undefined" && init instanceof FormData) {
    init.forEach((v, k) => {
      pairs.push([k, v as string | Blob]);
    });
  } else if (Array.isArray(init)) {
    for (const p of init as readonly (readonly [string, MultipartValue])[]) pairs.push([p[0], p[1]]);
  } else {
    const rec = init as Readonly<Record<string, MultipartValue | readonly MultipartValue[]>>;
    for (const k in rec) {
      const v = rec[k]!;
      if (Array.isArray(v)) for (const one of v as readonly MultipartValue[]) pairs.push([k, one]);
      else pairs.push([k, v as MultipartValue]);
    }
  }
  const parts: Part[] = [];
  let length = 0;
  let allBytes = true;
  for (const [name, value] of pairs) {
    let disposition = `form-data; name="${dispositionParam(name)}"`;
    let type: string | undefined;
    let data: Buffer | Blob;
    if (typeof value === "string" || typeof value === "number") {
      data = Buffer.from(String(value));
    } else if (value instanceof Uint8Array) {
      data = toBuffer(value);
      disposition += `; filename="blob"`;
      type = "application/octet-stream";
    } else if (typeof Blob !== "undefined" && value instanceof Blob) {
      const fname = (value as Blob & { name?: string }).name ?? "blob";
      disposition += `; filename="${dispositionParam(fname)}"`;
      type = value.type === "" ? "application/octet-stream" : value.type;
      data = value;
    } else {
      const f = value as MultipartFile;
      const d = f.data;
      const fname = f.filename ?? (d as Blob & { name?: string }).name ?? "blob";
      disposition += `; filename="${dispositionParam(fname)}"`;
      type =
        f.contentType ??
        (typeof Blob !== "undefined" && d instanceof Blob && d.type !== ""
          ? d.type
          : "application/octet-stream");
      data = typeof d === "string" ? Buffer.from(d) : d instanceof Uint8Array ? toBuffer(d) : d;
    }
    if (type !== undefined && /[\r\n]/.test(type))
      throw new TypeError("A multipart content type contains CR or LF");
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type === undefined ? "" : `Content-Type: ${type}\r\n`}\r\n`,
    );
    const size = data instanceof Uint8Array ? data.length : data.size;
    if (!(data instanceof Uint8Array)) allBytes = false;
    length += head.length + size + 2;
    parts.push({ head, data });
  }
  const tail = Buffer.from(`--${boundary}--\r\n`);
  length += tail.length;
  const contentType = `multipart/form-data; boundary=${boundary}`;
  if (allBytes) {
    const chunks: Buffer[] = [];
    for (const p of parts) chunks.push(p.head, p.data as Buffer, CRLF);
    chunks.push(tail);
    return inMemory(Buffer.concat(chunks, length), contentType);
  }
  return {
    bytes: undefined,
    text: undefined,
    length,
    stream: () => multipartChunks(parts, tail),
    replayable: true,
    contentType,
  };
}

const CRLF = Buffer.from("\r\n");

async function* multipartChunks(parts: Part[], tail: Buffer): AsyncGenerator<Uint8Array> {
  for (const p of parts) {
    yield p.head;
    if (p.data instanceof Uint8Array) yield p.data;
    else for await (const c of p.data.stream() as unknown as AsyncIterable<Uint8Array>) yield c;
    yield CRLF;
  }
  yield tail;
}
