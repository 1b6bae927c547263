// Row "phial wire": phial/http alone, with the few lines of dispatch a handler on the bare wire needs.
// The same code as node-http.ts, line for line, so the two rows compare the engines underneath.

import { readFile } from "node:fs/promises";
import { createServer, type IncomingRequest, type ServerResponse } from "phial/http";
import { IDLE_KEEP_ALIVE_MS, requestedPort, type Scenario, serve } from "./common.ts";
import {
  ensureStaticFile,
  HELLO,
  parseId,
  renderPage,
  STATIC_FILE,
  STATIC_NAME,
  userJson,
} from "./fixtures.ts";

type Handler = (req: IncomingRequest, res: ServerResponse) => unknown;

function notFound(res: ServerResponse): void {
  res.statusCode = 404;
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.end("Not Found");
}

function hello(req: IncomingRequest, res: ServerResponse): void {
  if (req.url !== "/hello") {
    notFound(res);
    return;
  }
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.end(HELLO);
}

function jsonParam(req: IncomingRequest, res: ServerResponse): void {
  const url = req.url;
  if (!url.startsWith("/user/")) {
    notFound(res);
    return;
  }
  const id = parseId(url.slice(6));
  if (id === undefined) {
    notFound(res);
    return;
  }
  res.setHeader("Content-Type", "application/json");
  res.end(JSON.stringify(userJson(id)));
}

async function postEcho(req: IncomingRequest, res: ServerResponse): Promise<void> {
  if (req.url !== "/echo" || req.method !== "POST") {
    notFound(res);
    return;
  }
  const doc: unknown = JSON.parse(await req.text());
  res.setHeader("Content-Type", "application/json");
  res.end(JSON.stringify(doc));
}

async function staticFile(req: IncomingRequest, res: ServerResponse): Promise<void> {
  if (req.url !== `/static/${STATIC_NAME}`) {
    notFound(res);
    return;
  }
  const data = await readFile(STATIC_FILE);
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.end(data);
}

function template(req: IncomingRequest, res: ServerResponse): void {
  if (req.url !== "/page") {
    notFound(res);
    return;
  }
  res.setHeader("Content-Type", "text/html; charset=utf-8");
  res.end(renderPage());
}

const HANDLERS: Partial<Record<Scenario, Handler>> = {
  hello,
  pipelined: hello,
  idle: hello,
  "json-param": jsonParam,
  "post-echo": postEcho,
  "not-found": (_req, res) => notFound(res),
  static: staticFile,
  template,
  // routing: no router on the bare wire; the framework row covers it.
};

serve(async (scenario) => {
  const handler = HANDLERS[scenario];
  if (handler === undefined) return null;
  if (scenario === "static") ensureStaticFile();
  const server = createServer(handler, scenario === "idle" ? { keepAliveTimeout: IDLE_KEEP_ALIVE_MS } : {});
  const addr = await server.listen(requestedPort(), "127.0.0.1");
  return { port: addr.port, close: () => server.close({ deadline: 200 }) };
});
