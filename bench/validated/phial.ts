// Row "phial": the route with its zod schemas (validation, typed req.valid, response schema).
import { Phial } from "phial";
import { requestedPort, serve } from "../servers/common.ts";
import { Order, Receipt, receipt } from "./fixture.ts";

serve(async () => {
  const app = new Phial(import.meta.url, { fromEnv: false, staticFolder: null });
  app.post("/orders", { json: Order, response: Receipt }, (req) => receipt(req.valid.json));
  const server = app.listen();
  const addr = await server.listen(requestedPort(), "127.0.0.1");
  return { port: addr.port, close: () => server.close() };
});
