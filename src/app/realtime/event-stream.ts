// Server-sent events: `return eventStream(async function* (lastEventId) { yield { event, data, id } })`.
// The response streams `text/event-stream` through the ordinary streamed-body path, so it stops (the
// generator's `finally` runs, the request's cleanups too) as soon as the client leaves.

import { currentRequest } from "../context.ts";
import { Response } from "../wrappers/response.ts";

/** One event. `data` that is not a string is sent as JSON. */
export interface ServerEvent<D = unknown> {
  /** The event type (`addEventListener(type, …)` in the browser); default `message`. */
  event?: string;
  data?: D;
  /** Stored by the browser and sent back as `Last-Event-ID` when it reconnects. */
  id?: string | number;
  /** Tells the browser how many ms to wait before reconnecting. */
  retry?: number;
  /** A comment line (ignored by browsers; keeps proxies from timing out). */
  comment?: string;
}

/** What an event stream is made of: events, or strings (each sent as one `data` event). */
export type EventSource<D> = AsyncIterable<ServerEvent<D> | string> | Iterable<ServerEvent<D> | string>;

export interface EventStreamOptions {
  /**
   * Seconds of silence after which a `: heartbeat` comment is sent, so that proxies and browsers keep
   * the connection. Default 15; 0 for none.
   */
  heartbeat?: number;
  /** A `retry:` (ms) sent first: how long browsers wait before reconnecting. */
  retry?: number;
  /** Extra response fields. */
  headers?: Record<string, string>;
}

/**
 * A `text/event-stream` response. `source` is an (async) iterable of events, or a function given the
 * `Last-Event-ID` the browser sent on reconnecting (undefined on a first connection) that returns one.
 */
export function eventStream<D = unknown>(
  source: EventSource<D> | ((lastEventId: string | undefined) => EventSource<D>),
  options: EventStreamOptions = {},
): Response {
  let src: EventSource<D>;
  if (typeof source === "function") {
    const last = currentRequest()?.header("last-event-id");
    src = source(last === undefined || last === "" ? undefined : last);
  } else {
    src = source;
  }
  const res = new Response(new EventIterable(src, options), {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache",
      // nginx buffers proxied responses unless told not to.
      "X-Accel-Buffering": "no",
      ...options.headers,
    },
  });
  return res;
}

/** One event in the wire format (ends with the blank line). Throws on a field that would break it. */
export function formatEvent(e: ServerEvent | string): string {
  if (typeof e === "string") return dataLines(e);
  let out = "";
  if (e.comment !== undefined) out += `: ${e.comment.replace(/\r\n|\r|\n/g, "\n: ")}\n`;
  if (e.event !== undefined) out += `event: ${oneLine(e.event, "event")}\n`;
  if (e.id !== undefined) {
    const id = oneLine(String(e.id), "id");
    if (id.includes("\0")) throw new TypeError("An event id must not contain NUL");
    out += `id: ${id}\n`;
  }
  if (e.retry !== undefined) {
    if (!Number.isInteger(e.retry) || e.retry < 0)
      throw new TypeError(`retry must be a whole number of ms, not ${e.retry}`);
    out += `retry: ${e.retry}\n`;
  }
  if (e.data !== undefined) out += dataLines(typeof e.data === "string" ? e.data : JSON.stringify(e.data));
  else out += "\n";
  return out;
}

function dataLines(s: string): string {
  return `data: ${s.replace(/\r\n|\r|\n/g, "\ndata: ")}\n\n`;
}

function oneLine(s: string, what: string): string {
  if (/[\r\n]/.test(s))
    throw new TypeError(`An event's ${what} must not contain CR or LF: ${JSON.stringify(s)}`);
  return s;
}

const HEARTBEAT = ": heartbeat\n\n";

/**
 * The body: the source's events formatted, with heartbeats in the silences. Its `return()` ends at once
 * (a pending `next()` resolves done) and closes the source, even while the source is waiting.
 */
class EventIterable<D> implements AsyncIterable<string> {
  constructor(
    private readonly source: EventSource<D>,
    private readonly options: EventStreamOptions,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<string> {
    const src = this.source;
    const it: AsyncIterator<ServerEvent<D> | string> | Iterator<ServerEvent<D> | string> =
      Symbol.asyncIterator in src
        ? (src as AsyncIterable<ServerEvent<D> | string>)[Symbol.asyncIterator]()
        : (src as Iterable<ServerEvent<D> | string>)[Symbol.iterator]();
    const beat = (this.options.heartbeat ?? 15) * 1000;
    let first = this.options.retry === undefined ? undefined : `retry: ${this.options.retry}\n\n`;
    let pending: Promise<IteratorResult<ServerEvent<D> | string>> | undefined;
    let finished = false;
    let wake: ((r: IteratorResult<string>) => void) | undefined;
    const done: IteratorResult<string> = { done: true, value: undefined };
    return {
      next: async (): Promise<IteratorResult<string>> => {
        if (finished) return done;
        if (first !== undefined) {
          const f = first;
          first = undefined;
          return { done: false, value: f };
        }
        pending ??= Promise.resolve(it.next());
        const p = pending;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const raced = await new Promise<IteratorResult<ServerEvent<D> | string> | "beat" | "stop">(
          (resolve) => {
            wake = () => resolve("stop");
            if (beat > 0) timer = setTimeout(() => resolve("beat"), beat);
            p.then(resolve, (err: unknown) => {
              pending = undefined;
              resolve(Promise.reject(err) as never);
            });
          },
        ).finally(() => {
          clearTimeout(timer);
          wake = undefined;
        });
        if (raced === "stop") return done;
        if (raced === "beat") return { done: false, value: HEARTBEAT };
        pending = undefined;
        if (raced.done) {
          finished = true;
          return done;
        }
        return { done: false, value: formatEvent(raced.value as ServerEvent | string) };
      },
      return: async (): Promise<IteratorResult<string>> => {
        if (!finished) {
          finished = true;
          const w = wake;
          if (w !== undefined) w(done);
          // The source may be suspended at an await: its return() then runs when that settles.
          if (typeof it.return === "function") void Promise.resolve(it.return()).catch(() => undefined);
        }
        return done;
      },
    };
  }
}
