// Row "koa": the idiomatic Koa 3 app with @koa/router and koa-static for each scenario.

import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import Router from "@koa/router";
import Koa from "koa";
import koaStatic from "koa-static";
import { IDLE_KEEP_ALIVE_MS, requestedPort, serve } from "./common.ts";
import { ensureStaticFile, HELLO, POST_BODY, renderPage, STATIC_DIR, userJson } from "./fixtures.ts";
import { colonPath, ROUTES, routeBody } from "./routes.ts";

/** Koa has no body parser in core: the few lines a Koa user writes (or gets from a middleware). */
async function readJson(req: NodeJS.ReadableStream, limit: number): Promise<unknown> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    total += b.length;
    if (total > limit) throw new Error("body too large");
    parts.push(b);
  }
  return JSON.parse(Buffer.concat(parts, total).toString("utf8"));
}

serve(async (scenario) => {
  if (scenario === "validated") return null; // no schema validator of its own: shown as —
  const app = new Koa();
  const router = new Router();
  switch (scenario) {
    case "hello":
    case "pipelined":
    case "idle":
      router.get("/hello", (ctx) => {
        ctx.body = HELLO;
      });
      break;
    case "json-param":
      router.get("/user/:id", (ctx) => {
        const id = Number.parseInt(ctx.params.id ?? "", 10);
        if (Number.isNaN(id)) return;
        ctx.body = userJson(id);
      });
      break;
    case "post-echo":
      router.post("/echo", async (ctx) => {
        ctx.body = await readJson(ctx.req, 100 * POST_BODY.length);
      });
      break;
    case "not-found":
      break;
    case "static": {
      ensureStaticFile();
      const files = koaStatic(STATIC_DIR);
      // koa-mount in three lines: serve /static/* from the folder.
      app.use(async (ctx, next) => {
        if (!ctx.path.startsWith("/static/")) return next();
        const full = ctx.path;
        ctx.path = full.slice("/static".length);
        try {
          await files(ctx, next);
        } finally {
          ctx.path = full;
        }
      });
      break;
    }
    case "template":
      router.get("/page", (ctx) => {
        ctx.type = "html";
        ctx.body = renderPage();
      });
      break;
    case "routing":
      for (const r of ROUTES) {
        const hasId = r.parts.includes(null);
        router.get(colonPath(r), (ctx) => {
          ctx.body = routeBody(r, hasId ? Number(ctx.params.id) : undefined);
        });
      }
      break;
  }
  app.use(router.routes());
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(requestedPort(), "127.0.0.1", () => resolve(s));
  });
  server.keepAliveTimeout = scenario === "idle" ? IDLE_KEEP_ALIVE_MS : 5_000;
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
});
