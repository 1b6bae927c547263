// The same app behind other servers: fetch-style runtimes (`app.fetch(request)`) and node:http
// (`http.createServer(app.nodeHandler())`). Both only build a RequestSource and copy a Response out.

import type { IncomingMessage, ServerResponse as NodeServerResponse } from "node:http";
import type { RequestSource } from "./request.ts";
import type { Response, ResponseBody } from "./response.ts";

/** The little of an app the adapters need. */
export interface Handles {
  handle(source: RequestSource): Response | Promise<Response>;
}

export interface FetchOptions {
  /** The client's address, when the runtime tells it. */
  remoteAddress?: string;
}

/** A web `Request` as the framework reads it. */
class FetchSource implements RequestSource {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly host: string;
  readonly remoteAddress: string;
  readonly encrypted: boolean;
  readonly contentLength: number;
  readonly bodyComplete: boolean;
  readonly signal: AbortSignal;
  private readonly request: globalThis.Request;

  constructor(request: globalThis.Request, options: FetchOptions) {
    const u = new URL(request.url);
    this.request = request;
    this.method = request.method;
    this.url = `${u.pathname}${u.search}`;
    const raw: string[] = [];
    request.headers.forEach((v, k) => {
      raw.push(k, v);
    });
    this.rawHeaders = raw;
    this.host = request.headers.get("host") ?? u.host;
    this.remoteAddress = options.remoteAddress ?? "";
    this.encrypted = u.protocol === "https:";
    const cl = request.headers.get("content-length");
    this.contentLength = cl === null || !/^\d+$/.test(cl) ? -1 : Number(cl);
    this.bodyComplete = request.body === null;
    this.signal = request.signal;
  }

  async body(): Promise<Buffer> {
    return Buffer.from(await this.request.arrayBuffer());
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    const b = this.request.body;
    if (b === null) return;
    for await (const chunk of b as unknown as AsyncIterable<Uint8Array>) yield Buffer.from(chunk);
  }
}

function isBytes(b: ResponseBody): b is string | Uint8Array {
  return typeof b === "string" || b instanceof Uint8Array;
}

/** A streamed body as a web ReadableStream (pull-based: backpressure comes from the consumer). */
function toWebStream(body: ResponseBody): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  const it = (body as AsyncIterable<string | Uint8Array>)[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await it.next();
      if (r.done) controller.close();
      else controller.enqueue(typeof r.value === "string" ? enc.encode(r.value) : r.value);
    },
    async cancel() {
      await it.return?.();
    },
  });
}

/** Handles a web `Request` and resolves with a web `Response`. */
export async function handleFetch(
  app: Handles,
  request: globalThis.Request,
  options: FetchOptions = {},
): Promise<globalThis.Response> {
  const res = await app.handle(new FetchSource(request, options));
  const headers = new globalThis.Headers();
  const f = res.headers.raw();
  for (let i = 0; i < f.length; i += 2) headers.append(f[i]!, f[i + 1]!);
  const noBody = request.method === "HEAD" || res.status === 204 || res.status === 304 || res.status < 200;
  let body: ConstructorParameters<typeof globalThis.Response>[0] = null;
  if (!noBody && res.body !== null) {
    body = isBytes(res.body) ? (res.body as string) : toWebStream(res.body);
  } else if (res.body !== null && !isBytes(res.body)) {
    void (res.body as AsyncIterable<unknown>)[Symbol.asyncIterator]().return?.();
  }
  return new globalThis.Response(body, {
    status: res.status,
    statusText: res.statusText || undefined,
    headers,
  });
}

/** A node:http request as the framework reads it. */
class NodeSource implements RequestSource {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: readonly string[];
  readonly host: string;
  readonly remoteAddress: string;
  readonly encrypted: boolean;
  readonly contentLength: number;
  readonly bodyComplete: boolean;
  private readonly req: IncomingMessage;
  private abort: AbortController | undefined;

  constructor(req: IncomingMessage) {
    this.req = req;
    this.method = req.method ?? "GET";
    this.url = req.url ?? "/";
    this.rawHeaders = req.rawHeaders;
    this.host = req.headers.host ?? "";
    this.remoteAddress = req.socket.remoteAddress ?? "";
    this.encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
    const cl = req.headers["content-length"];
    this.contentLength = cl === undefined || !/^\d+$/.test(cl) ? -1 : Number(cl);
    this.bodyComplete = this.contentLength <= 0 && req.headers["transfer-encoding"] === undefined;
  }

  get signal(): AbortSignal {
    if (this.abort === undefined) {
      const a = new AbortController();
      this.abort = a;
      this.req.socket.once("close", () => a.abort(new Error("The client went away")));
    }
    return this.abort.signal;
  }

  async body(): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const c of this) parts.push(c);
    return Buffer.concat(parts);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for await (const chunk of this.req as AsyncIterable<Buffer>) yield chunk;
  }
}

/** A node:http handler: `http.createServer(app.nodeHandler())`. */
export function nodeHandler(
  app: Handles,
  onError: (err: unknown) => void,
): (req: IncomingMessage, res: NodeServerResponse) => void {
  return (req, out) => {
    void serveNode(app, req, out).catch((err: unknown) => {
      onError(err);
      if (!out.headersSent) {
        out.statusCode = 500;
        out.setHeader("Content-Type", "text/plain; charset=utf-8");
        out.end("500 Internal Server Error\n");
      } else {
        out.destroy();
      }
    });
  };
}

async function serveNode(app: Handles, req: IncomingMessage, out: NodeServerResponse): Promise<void> {
  const res = await app.handle(new NodeSource(req));
  out.statusCode = res.status;
  if (res.statusText !== "") out.statusMessage = res.statusText;
  const f = res.headers.raw();
  for (let i = 0; i < f.length; i += 2) out.appendHeader(f[i]!, f[i + 1]!);
  const body = res.body;
  if (body === null) {
    out.end();
    return;
  }
  if (isBytes(body)) {
    out.end(body);
    return;
  }
  const it = (body as AsyncIterable<string | Uint8Array>)[Symbol.asyncIterator]();
  if (req.method === "HEAD") {
    await it.return?.();
    out.end();
    return;
  }
  try {
    for (;;) {
      if (out.destroyed) break;
      const r = await it.next();
      if (r.done) break;
      if (!out.write(r.value))
        await new Promise<void>((resolve) => {
          const done = () => {
            out.off("drain", done);
            out.off("close", done);
            resolve();
          };
          out.on("drain", done);
          out.on("close", done);
        });
    }
  } finally {
    if (out.destroyed) await it.return?.();
  }
  if (!out.writableEnded) out.end();
}
