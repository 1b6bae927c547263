// Row "express": the idiomatic Express 5 app for each scenario (NODE_ENV=production, as deployed).

import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { IDLE_KEEP_ALIVE_MS, requestedPort, serve } from "./common.ts";
import { ensureStaticFile, HELLO, renderPage, STATIC_DIR, userJson } from "./fixtures.ts";
import { colonPath, ROUTES, routeBody } from "./routes.ts";

serve(async (scenario) => {
  if (scenario === "validated") return null; // no schema validator of its own: shown as —
  const app = express();
  switch (scenario) {
    case "hello":
    case "pipelined":
    case "idle":
      app.get("/hello", (_req, res) => {
        res.type("text/plain").send(HELLO);
      });
      break;
    case "json-param":
      app.get("/user/:id", (req, res) => {
        const id = Number.parseInt(req.params.id, 10);
        if (Number.isNaN(id)) {
          res.sendStatus(404);
          return;
        }
        res.json(userJson(id));
      });
      break;
    case "post-echo":
      app.post("/echo", express.json(), (req, res) => {
        res.json(req.body);
      });
      break;
    case "not-found":
      break;
    case "static":
      ensureStaticFile();
      app.use("/static", express.static(STATIC_DIR));
      break;
    case "template":
      app.get("/page", (_req, res) => {
        res.type("html").send(renderPage());
      });
      break;
    case "routing":
      for (const r of ROUTES) {
        const hasId = r.parts.includes(null);
        app.get(colonPath(r), (req, res) => {
          res.type("text/plain").send(routeBody(r, hasId ? Number(req.params.id) : undefined));
        });
      }
      break;
  }
  const server: Server = await new Promise((resolve) => {
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
