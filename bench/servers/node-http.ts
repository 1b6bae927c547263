// Row "node:http": the floor. The same handlers as phial-wire.ts on Node's own HTTP server.

import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
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

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

function notFound(res: ServerResponse): void {
  res.statusCode = 404;
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.end("Not Found");
}

function hello(req: IncomingMessage, res: ServerResponse): void {
  if (req.url !== "/hello") {
    notFound(res);
    return;
  }
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.end(HELLO);
}

function jsonParam(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? "";
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

async function text(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of req) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString("utf8");
}

async function postEcho(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.url !== "/echo" || req.method !== "POST") {
    notFound(res);
    return;
  }
  const doc: unknown = JSON.parse(await text(req));
  res.setHeader("Content-Type", "application/json");
  res.end(JSON.stringify(doc));
}

async function staticFile(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.url !== `/static/${STATIC_NAME}`) {
    notFound(res);
    return;
  }
  const data = await readFile(STATIC_FILE);
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.end(data);
}

function template(req: IncomingMessage, res: ServerResponse): void {
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
  // routing: node:http has no router; the framework rows cover it.
};

serve(async (scenario) => {
  const handler = HANDLERS[scenario];
  if (handler === undefined) return null;
  if (scenario === "static") ensureStaticFile();
  const server = createServer(
    scenario === "idle" ? { keepAliveTimeout: IDLE_KEEP_ALIVE_MS } : {},
    (req, res) => {
      const r = handler(req, res) as Promise<void> | undefined;
      r?.catch(() => {
        res.statusCode = 500;
        res.end();
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(requestedPort(), "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
});
