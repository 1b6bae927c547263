// Row "fastify": the same route with the same schemas as JSON Schema: ajv validates the body,
// fast-json-stringify writes the response (and drops `internal`). Defaults, logger off.
import Fastify from "fastify";
import { requestedPort, serve } from "../servers/common.ts";
import { ORDER_JSON_SCHEMA, type OrderIn, RECEIPT_JSON_SCHEMA, receipt } from "./fixture.ts";

serve(async () => {
  const app = Fastify({ logger: false });
  const strip = ({ $schema: _s, ...rest }: Record<string, unknown>) => rest;
  app.post<{ Body: OrderIn }>(
    "/orders",
    { schema: { body: strip(ORDER_JSON_SCHEMA), response: { 200: strip(RECEIPT_JSON_SCHEMA) } } },
    async (req) => receipt(req.body),
  );
  await app.listen({ port: requestedPort(), host: "127.0.0.1" });
  const addr = app.server.address();
  const port = addr !== null && typeof addr === "object" ? addr.port : 0;
  return { port, close: () => app.close() };
});
