// Stopping a streamed response body: shared by the wire (app.ts) and the other ways of serving an app
// (adapters.ts). A body is a string or bytes (not streamed), or an iterable, async iterable, web
// ReadableStream or Node stream of strings and bytes. When its reader goes away (the client left, a
// fetch consumer cancelled the body) the source is stopped at once, even while it waits for its next
// value, without waiting for it to agree.

import type { ResponseBody } from "../wrappers/response.ts";

export type Chunk = string | Uint8Array;
export type StreamBody = AsyncIterable<Chunk> | Iterable<Chunk>;

/** The method of a bound stream's iterator (see app.ts `bindStream`) that stops it at once. */
export const STOP = Symbol("phial.stopStream");

/** The iterator of a streamed body: a bound one can be stopped while a `next()` is pending. */
export interface StoppableIterator extends AsyncIterator<Chunk> {
  /**
   * The reader left: stop the source now, without waiting for it (a web ReadableStream is cancelled, a
   * Node stream destroyed, an iterator's `return()` called), and run the request's cleanups. Resolves
   * once the cleanups have run (not the source: a wait that never settles would hold them forever);
   * never rejects (their errors are logged).
   */
  [STOP]?(): Promise<void>;
}

/** A web ReadableStream read through its own reader, so that `return()` (a cancel) ends a pending read. */
export function readerIterator(rs: ReadableStream<Chunk>): AsyncIterator<Chunk> {
  const reader = rs.getReader();
  return {
    next: () => reader.read() as Promise<IteratorResult<Chunk>>,
    return: async () => {
      await reader.cancel().catch(() => undefined);
      return { done: true, value: undefined };
    },
  };
}

/**
 * The iterator of a streamed body. A bound body (what `app.handle` resolves with) gives its stoppable
 * iterator; anything else is opened as it is (a sync iterable's results are awaited like the rest).
 */
export function openStream(body: StreamBody | ReadableStream<Chunk>): StoppableIterator {
  if (body instanceof ReadableStream) return readerIterator(body);
  if (Symbol.asyncIterator in body) return body[Symbol.asyncIterator]();
  return body[Symbol.iterator]() as unknown as StoppableIterator;
}

/** Stops an iterator at once: a bound one through its STOP, any other by a `return()` not waited for. */
export function stopIterator(it: StoppableIterator): Promise<void> {
  if (it[STOP] !== undefined) return it[STOP]();
  closeIterator(it);
  return Promise.resolve();
}

/**
 * Writes a stream's chunks, awaiting `write` for backpressure, until it ends, fails, or is stopped. The
 * signal aborting stops the source at once, even while it waits for its next value (an SSE loop
 * awaiting an event), unless `mayStop` says no (a sized body still going to a connected client); `gone`
 * is asked after each value (the destination closed). What the source throws as it stops goes nowhere.
 * A chunk that is not a string or bytes closes the source and throws. Resolves true when it stopped.
 */
export async function pumpStream(
  it: StoppableIterator,
  signal: AbortSignal,
  write: (chunk: Chunk) => Promise<void> | undefined,
  mayStop?: () => boolean,
  gone?: () => boolean,
): Promise<boolean> {
  let stopped = false;
  let sinceYield = 0;
  const stop = (): void => {
    if (stopped || (mayStop !== undefined && !mayStop())) return;
    stopped = true;
    void stopIterator(it);
  };
  if (signal.aborted) stop();
  else signal.addEventListener("abort", stop);
  try {
    for (;;) {
      let r: IteratorResult<Chunk>;
      try {
        r = await it.next();
      } catch (err) {
        if (stopped) break; // the source failing as it stops (an AbortError from a wait on req.signal)
        throw err;
      }
      if (r.done || stopped) break; // after a stop: the last value of a generator that ran on to a yield
      if (gone?.() === true) {
        stop();
        break;
      }
      const chunk = r.value;
      if (typeof chunk !== "string" && !(chunk instanceof Uint8Array)) {
        closeIterator(it);
        throw badChunk(chunk);
      }
      const w = write(chunk);
      if (w !== undefined) await w;
      if (++sinceYield === YIELD_EVERY) {
        // Writes that resolve at once (a sink that drops them, a socket going away) would make this a
        // loop of microtasks only: the event loop would starve, the close that stops it would never be
        // seen, and the chunks' memory never freed. Let the event loop run now and then.
        sinceYield = 0;
        await new Promise<void>((r) => setImmediate(r));
      }
    }
  } finally {
    signal.removeEventListener("abort", stop);
  }
  return stopped;
}

/** How many chunks `pumpStream` writes between two turns of the event loop (at most). */
const YIELD_EVERY = 64;

/** Calls an iterator's return(), not waiting for it; its errors go nowhere (nobody is waiting). */
export function closeIterator(it: AsyncIterator<unknown> | Iterator<unknown>): void {
  try {
    const r = it.return?.();
    if (r !== null && typeof r === "object" && typeof (r as Promise<unknown>).then === "function") {
      (r as Promise<unknown>).then(undefined, () => undefined);
    }
  } catch {
    // nothing to clean
  }
}

/** Releases a body that won't be read (HEAD, 204, the client gone before it started), not waiting. */
export function closeBody(body: ResponseBody): void {
  if (body === null || typeof body !== "object" || body instanceof Uint8Array) return;
  if (body instanceof ReadableStream) {
    void body.cancel().catch(() => undefined);
    return;
  }
  const d = (body as { destroy?: unknown }).destroy;
  if (typeof d === "function") {
    (d as () => void).call(body); // a Node stream: release what it holds
    return;
  }
  let it: AsyncIterator<unknown> | Iterator<unknown>;
  try {
    it =
      Symbol.asyncIterator in body
        ? (body as AsyncIterable<unknown>)[Symbol.asyncIterator]()
        : (body as Iterable<unknown>)[Symbol.iterator]();
  } catch {
    return; // nothing to clean
  }
  closeIterator(it);
}

/** The error for a streamed body that yielded something other than a string or bytes. */
export function badChunk(chunk: unknown): TypeError {
  return new TypeError(`A streamed response body yielded ${describeValue(chunk)}; yield strings or bytes`);
}

/** `v` in an error message: "null", "an array", "a Map", "a number". */
export function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return `a ${(v as object).constructor?.name ?? "object"}`;
  return `a ${typeof v}`;
}
