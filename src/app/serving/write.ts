// Writing a Response to the wire: status, the already-checked header list, and the body: bytes at once,
// a stream with backpressure that stops when the client leaves. Imports the wire (types), the wrappers
// and streams.ts; nothing of the app or the dispatch pipeline.

import type { ServerResponse } from "../../http/index.ts";
import type { Response } from "../wrappers/response.ts";
import { type Chunk, closeBody, pumpStream, type StoppableIterator, type StreamBody } from "./streams.ts";

/** Writes a response to the wire; a streamed body with backpressure. */
export function writeResponse(res: Response, out: ServerResponse): unknown {
  if (out.closed) {
    closeBody(res.body);
    return undefined;
  }
  out.statusCode = res.status;
  if (res.statusText !== "") out.statusMessage = res.statusText;
  // Headers checked every field as it was set (constants aside): the wire needn't check them again.
  // The wire takes the list itself (nothing changes it once the response is being written).
  out.adoptCheckedHeaders(res.headers.raw() as string[]);
  const body = res.body;
  if (body === null) {
    out.end();
    return undefined;
  }
  if (typeof body === "string" || body instanceof Uint8Array) {
    out.end(body);
    return undefined;
  }
  const sized = res.headers.get("content-length") !== undefined;
  if (out.request.method === "HEAD" || res.status === 204 || res.status === 304) {
    closeBody(body);
    // Without a declared length, send no Content-Length at all (a GET would be chunked).
    if (!sized) void out.write("");
    out.end();
    return undefined;
  }
  return pipeBody(body as StreamBody, out, sized);
}

/**
 * Streams a body to the wire with backpressure. When the client leaves (the request's signal aborts)
 * the source is stopped at once, even while it is waiting for its next value (an SSE loop awaiting an
 * event), and the request's cleanups run. A client that only half-closed its side looks the same as one
 * that left, so a body without a declared length (SSE, generated output: it ends only when the client
 * goes) stops then too; a body with a length (a file) is finite and still goes out whole to it, unless
 * the connection itself is gone.
 */
async function pipeBody(body: StreamBody, out: ServerResponse, sized: boolean): Promise<void> {
  const it = (body as AsyncIterable<Chunk>)[Symbol.asyncIterator]() as StoppableIterator;
  await pumpStream(
    it,
    out.request.signal,
    (chunk) => out.write(chunk),
    () => !sized || out.closed,
    () => out.closed,
  );
  if (!out.finished) out.end();
}
