// Response compression (Flask-Compress, @fastify/compress): `config.compression`. The encoding is chosen
// by `Accept-Encoding` with q-values among zstd (where node:zlib has it), br and gzip; bodies under the
// threshold, already encoded, partial (206), of media types that are compressed already (images, video,
// archives) or event streams are left alone. `Vary: Accept-Encoding` goes on every compressible answer.
// A streamed body is compressed as it streams: a chunk under 16 KiB is flushed at once (a live stream's
// event must reach the client), larger ones (a file's reads) are not, for a better ratio. A body in
// memory over 128 KiB is compressed off the event loop (zlib's thread pool), as a one-chunk stream: a
// synchronous gzip of a few MiB would stall every other request for tens of milliseconds.

import * as zlib from "node:zlib";
import type { Request } from "../wrappers/request.ts";
import type { Response } from "../wrappers/response.ts";
import { type Chunk, STOP, type StoppableIterator, type StreamBody } from "./streams.ts";

export interface CompressionOptions {
  /** Smallest body compressed, in bytes. Default 1024. */
  threshold?: number;
  /**
   * Encodings offered, preferred first when the client likes several equally. Default zstd, br, gzip;
   * zstd only where node:zlib has it (Node 22.15+ / 23.8+), left out on older versions even when named.
   */
  encodings?: readonly ("zstd" | "br" | "gzip")[];
  /** Brotli quality 0-11. Default 4 (11 is far slower for little gain on the fly). */
  brotliQuality?: number;
  /** gzip level 1-9. Default 6. */
  gzipLevel?: number;
}

type Encoding = "zstd" | "br" | "gzip";

// zstd arrived in node:zlib in Node 22.15 / 23.8; on older versions it is never offered.
const z = zlib as unknown as Record<string, unknown>;
export const ZSTD_AVAILABLE = typeof z.zstdCompressSync === "function";
const DEFAULT_ENCODINGS: readonly Encoding[] = ZSTD_AVAILABLE ? ["zstd", "br", "gzip"] : ["br", "gzip"];

const usable = new WeakMap<readonly Encoding[], readonly Encoding[]>();

/** The encodings the options offer that this Node can make (zstd named on Node 20 is left out). */
function offeredEncodings(o: CompressionOptions): readonly Encoding[] {
  const asked = o.encodings;
  if (asked === undefined) return DEFAULT_ENCODINGS;
  if (ZSTD_AVAILABLE) return asked;
  let list = usable.get(asked);
  if (list === undefined) {
    list = asked.filter((e) => e !== "zstd");
    usable.set(asked, list);
  }
  return list;
}

/** Picks the encoding from `Accept-Encoding` (q-values; `*`; `identity;q=0` ignored), or undefined. */
export function negotiateEncoding(
  header: string | undefined,
  offered: readonly Encoding[],
): Encoding | undefined {
  if (header === undefined || header === "") return undefined;
  let best: Encoding | undefined;
  let bestQ = 0;
  let star = -1;
  const q = new Map<string, number>();
  for (const part of header.split(",")) {
    const [nameRaw, ...params] = part.split(";");
    const name = nameRaw!.trim().toLowerCase();
    if (name === "") continue;
    let qv = 1;
    for (const p of params) {
      const [k, v] = p.split("=");
      if (k?.trim().toLowerCase() === "q" && v !== undefined) {
        const n = Number(v.trim());
        qv = Number.isFinite(n) && n >= 0 && n <= 1 ? n : 0;
      }
    }
    if (name === "*") star = qv;
    else q.set(name, qv);
  }
  for (const enc of offered) {
    const v = q.get(enc) ?? Math.max(star, 0); // star is -1 when the header had no "*"
    if (v > bestQ) {
      best = enc;
      bestQ = v;
    }
  }
  return best;
}

/** True for media types worth compressing (text, JSON, JavaScript, XML, SVG, …). */
export function compressible(mimetype: string | undefined): boolean {
  if (mimetype === undefined) return false;
  const m = mimetype.toLowerCase();
  if (m === "text/event-stream") return false; // flushed per event: little to gain, proxies struggle
  if (m.startsWith("text/")) return true;
  return /^application\/(?:json|javascript|ecmascript|xml|wasm|manifest\+json|x-javascript|ld\+json)$|\+(?:json|xml)$|^image\/svg\+xml$/.test(
    m,
  );
}

/** Compresses a response in place when it should be (see the module comment). */
export function compressResponse(res: Response, req: Request, o: CompressionOptions): void {
  const status = res.status;
  if (status < 200 || status === 204 || status === 206 || status === 304) return;
  const h = res.headers;
  if (!compressible(res.mimetype)) return;
  addVaryAcceptEncoding(res);
  if (
    h.has("content-encoding") ||
    h.has("content-range") ||
    /\bno-transform\b/i.test(h.get("cache-control") ?? "")
  )
    return;
  const enc = negotiateEncoding(req.header("accept-encoding"), offeredEncodings(o));
  if (enc === undefined) return;
  const threshold = o.threshold ?? 1024;
  const body = res.body;
  if (body === null) return;
  if (typeof body === "string" || body instanceof Uint8Array) {
    const buf = typeof body === "string" ? Buffer.from(body) : body;
    if (buf.byteLength < threshold) return;
    const forms = typeof body === "string" ? undefined : compressedForms.get(body);
    if (forms !== undefined) {
      // Bytes that never change (a cached static file): compressed once per encoding and level.
      const key = formKey(enc, o);
      let packed = forms.get(key);
      if (packed === undefined) {
        packed = compressSync(enc, buf, o);
        forms.set(key, packed);
      }
      res.body = packed;
    } else if (buf.byteLength > ASYNC_ABOVE) {
      res.body = new CompressedStream([buf], enc, o);
    } else res.body = compressSync(enc, buf, o);
    h.delete("content-length");
    h.delete("accept-ranges");
  } else {
    const len = h.get("content-length");
    if (len !== undefined && Number(len) < threshold) return;
    if (req.method === "HEAD") {
      h.delete("content-length");
    } else {
      res.body = new CompressedStream(body as StreamBody, enc, o);
      h.delete("content-length");
    }
    h.delete("accept-ranges"); // ranges would count the encoded bytes
  }
  h.set("Content-Encoding", enc);
  // A strong validator names the bytes: the compressed ones are others (as Apache's mod_deflate).
  const etag = h.get("etag");
  if (etag !== undefined && !etag.startsWith("W/")) h.set("ETag", `W/${etag}`);
}

/**
 * The compressed forms of bodies that never change while referenced (the file cache's bytes of a small
 * static file), kept beside them: held as long as the bytes are, gone with them when the file changes.
 */
const compressedForms = new WeakMap<Uint8Array, Map<string, Buffer>>();

/**
 * @internal Marks bytes that nobody changes while they are referenced (the file cache hands out the
 * same Buffer for every request of an unchanged file): their compressed forms are then made once.
 */
export function markImmutableBody(buf: Uint8Array): void {
  if (!compressedForms.has(buf)) compressedForms.set(buf, new Map());
}

function formKey(enc: Encoding, o: CompressionOptions): string {
  if (enc === "gzip") return `gzip${o.gzipLevel ?? 6}`;
  if (enc === "br") return `br${o.brotliQuality ?? 4}`;
  return enc;
}

function addVaryAcceptEncoding(res: Response): void {
  const cur = res.headers.get("vary");
  if (cur === undefined) res.headers.set("Vary", "Accept-Encoding");
  else if (!/(^|,)\s*(accept-encoding|\*)\s*(,|$)/i.test(cur))
    res.headers.set("Vary", `${cur}, Accept-Encoding`);
}

function compressSync(enc: Encoding, buf: Uint8Array, o: CompressionOptions): Buffer {
  if (enc === "gzip") return zlib.gzipSync(buf, { level: o.gzipLevel ?? 6 });
  if (enc === "br") {
    return zlib.brotliCompressSync(buf, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: o.brotliQuality ?? 4,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: buf.byteLength,
      },
    });
  }
  return (z.zstdCompressSync as (b: Uint8Array) => Buffer)(buf);
}

function createCompressor(enc: Encoding, o: CompressionOptions): zlib.Gzip | zlib.BrotliCompress {
  if (enc === "gzip") return zlib.createGzip({ level: o.gzipLevel ?? 6 });
  if (enc === "br") {
    return zlib.createBrotliCompress({
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: o.brotliQuality ?? 4 },
    });
  }
  return (z.createZstdCompress as () => zlib.Gzip)();
}

/** Bodies in memory larger than this are compressed in zlib's thread pool, not on the event loop. */
const ASYNC_ABOVE = 128 * 1024;
/** Streamed chunks smaller than this are flushed at once (live streams); larger ones are not (files). */
const FLUSH_BELOW = 16 * 1024;

/** A streamed body compressed chunk by chunk (see the module comment for when it is flushed). */
class CompressedStream implements AsyncIterable<Chunk> {
  constructor(
    private readonly source: StreamBody,
    private readonly enc: Encoding,
    private readonly o: CompressionOptions,
  ) {}

  [Symbol.asyncIterator](): StoppableIterator {
    const src = this.source as AsyncIterable<Chunk>;
    const inner = (
      Symbol.asyncIterator in src
        ? src[Symbol.asyncIterator]()
        : (src as unknown as Iterable<Chunk>)[Symbol.iterator]()
    ) as StoppableIterator;
    const zs = createCompressor(this.enc, this.o);
    const out: Buffer[] = [];
    zs.on("data", (d: Buffer) => out.push(d));
    zs.on("error", () => undefined);
    let ended = false;
    const take = (): Buffer => {
      const b = out.length === 1 ? out[0]! : Buffer.concat(out);
      out.length = 0;
      return b;
    };
    const it: StoppableIterator = {
      next: async (): Promise<IteratorResult<Chunk>> => {
        for (;;) {
          if (ended) return { done: true, value: undefined };
          const r = await inner.next();
          if (r.done) {
            ended = true;
            await new Promise<void>((resolve) => {
              zs.once("end", resolve);
              zs.end();
            });
            return out.length === 0 ? { done: true, value: undefined } : { done: false, value: take() };
          }
          const chunk = r.value;
          const size = typeof chunk === "string" ? chunk.length : chunk.byteLength;
          if (size < FLUSH_BELOW) {
            zs.write(chunk);
            await new Promise<void>((resolve) => zs.flush(resolve));
          } else {
            // Compressed without a flush: what zlib has output once it took the chunk goes on.
            await new Promise<void>((resolve) => zs.write(chunk, () => resolve()));
          }
          if (out.length > 0) return { done: false, value: take() };
        }
      },
      return: async (): Promise<IteratorResult<Chunk>> => {
        ended = true;
        zs.destroy();
        if (typeof inner.return === "function") await inner.return();
        return { done: true, value: undefined };
      },
    };
    if (inner[STOP] !== undefined) {
      it[STOP] = () => {
        ended = true;
        zs.destroy();
        return inner[STOP]!();
      };
    }
    return it;
  }
}
