// Row "hono": the idiomatic Hono 4 app on @hono/node-server for each scenario.

import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve as honoServe } from "@hono/node-server";
import { serveStatic } from "@hono/node-server/serve-static";
import { Hono } from "hono";
import { IDLE_KEEP_ALIVE_MS, requestedPort, serve } from "./common.ts";
import { ensureStaticFile, HELLO, renderPage, STATIC_DIR, userJson } from "./fixtures.ts";
import { colonPath, ROUTES, routeBody } from "./routes.ts";

serve(async (scenario) => {
  if (scenario === "validated") return null; // no schema validator of its own: shown as —
  const app = new Hono();
  switch (scenario) {
    case "hello":
    case "pipelined":
    case "idle":
      app.get("/hello", (c) => c.text(HELLO));
      break;
    case "json-param":
      app.get("/user/:id{[0-9]+}", (c) => c.json(userJson(Number(c.req.param("id")))));
      break;
    case "post-echo":
      app.post("/echo", async (c) => c.json(await c.req.json()));
      break;
    case "not-found":
      break;
    case "static":
      ensureStaticFile();
      app.use(
        "/static/*",
        serveStatic({ root: STATIC_DIR, rewriteRequestPath: (p) => p.slice("/static".length) }),
      );
      break;
    case "template":
      app.get("/page", (c) => c.html(renderPage()));
      break;
    case "routing":
      for (const r of ROUTES) {
        const hasId = r.parts.includes(null);
        app.get(colonPath(r), (c) => c.text(routeBody(r, hasId ? Number(c.req.param("id")) : undefined)));
      }
      break;
  }
  const server = await new Promise<Server>((resolve) => {
    const s = honoServe({ fetch: app.fetch, port: requestedPort(), hostname: "127.0.0.1" }, () =>
      resolve(s as Server),
    );
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
