// Row "fastify": the idiomatic Fastify 5 app for each scenario (defaults, logger off).

import fastifyStatic from "@fastify/static";
import Fastify, { type FastifyInstance } from "fastify";
import type { OrderIn } from "../validated/fixture.ts";
import { IDLE_KEEP_ALIVE_MS, requestedPort, serve } from "./common.ts";
import { ensureStaticFile, HELLO, renderPage, STATIC_DIR, userJson } from "./fixtures.ts";
import { colonPath, ROUTES, routeBody } from "./routes.ts";

serve(async (scenario) => {
  const app: FastifyInstance = Fastify({
    logger: false,
    keepAliveTimeout: scenario === "idle" ? IDLE_KEEP_ALIVE_MS : 72_000,
  });
  switch (scenario) {
    case "hello":
    case "pipelined":
    case "idle":
      app.get("/hello", async (_req, reply) => reply.type("text/plain; charset=utf-8").send(HELLO));
      break;
    case "json-param":
      app.get<{ Params: { id: number } }>(
        "/user/:id",
        { schema: { params: { type: "object", properties: { id: { type: "integer" } } } } },
        async (req) => userJson(req.params.id),
      );
      break;
    case "post-echo":
      app.post("/echo", async (req) => req.body);
      break;
    case "not-found":
      break;
    case "static":
      ensureStaticFile();
      await app.register(fastifyStatic, { root: STATIC_DIR, prefix: "/static/" });
      break;
    case "template":
      app.get("/page", async (_req, reply) => reply.type("text/html; charset=utf-8").send(renderPage()));
      break;
    case "routing":
      for (const r of ROUTES) {
        const hasId = r.parts.includes(null);
        app.get<{ Params: { id: string } }>(colonPath(r), async (req, reply) =>
          reply
            .type("text/plain; charset=utf-8")
            .send(routeBody(r, hasId ? Number(req.params.id) : undefined)),
        );
      }
      break;
    case "validated": {
      // The same schemas as JSON Schema: ajv checks the body, fast-json-stringify writes the answer.
      // zod (the fixture's source of the schemas) is loaded only by this scenario, as in phial's row.
      const { ORDER_JSON_SCHEMA, RECEIPT_JSON_SCHEMA, receipt } = await import("../validated/fixture.ts");
      const strip = ({ $schema: _s, ...rest }: Record<string, unknown>) => rest;
      app.post<{ Body: OrderIn }>(
        "/orders",
        { schema: { body: strip(ORDER_JSON_SCHEMA), response: { 200: strip(RECEIPT_JSON_SCHEMA) } } },
        async (req) => receipt(req.body),
      );
      break;
    }
  }
  await app.listen({ port: requestedPort(), host: "127.0.0.1" });
  const addr = app.server.address();
  const port = addr !== null && typeof addr === "object" ? addr.port : 0;
  return { port, close: () => app.close() };
});
