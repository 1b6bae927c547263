// Row "phial framework": the app a Phial user writes for each scenario — routes with typed params,
// return values as responses, the framework's own 404, static folder and templates — served by
// `app.listen()` on phial's wire.

import { Phial, renderTemplate } from "phial";
import { IDLE_KEEP_ALIVE_MS, requestedPort, serve } from "./common.ts";
import { ensureStaticFile, HELLO, PAGE_DATA, TEMPLATE_NAME, userJson } from "./fixtures.ts";
import { phialRule, ROUTES, routeBody } from "./routes.ts";

const TEXT = { "Content-Type": "text/plain; charset=utf-8" };

serve(async (scenario) => {
  // static/ (made by ensureStaticFile) and templates/ sit next to this file: the app's defaults.
  const app = new Phial(import.meta.url);
  switch (scenario) {
    case "hello":
    case "pipelined":
    case "idle":
      app.get("/hello", () => [HELLO, 200, TEXT]);
      break;
    case "json-param":
      app.get("/user/<int:id>", (req) => userJson(req.params.id));
      break;
    case "post-echo":
      app.post("/echo", (req) => req.json as Record<string, unknown>); // parsed, sent back as JSON
      break;
    case "not-found":
      break; // the framework's own 404 page
    case "static":
      ensureStaticFile(); // served from static/ at /static/<path:filename>
      break;
    case "template":
      app.get("/page", () => renderTemplate(TEMPLATE_NAME, PAGE_DATA));
      break;
    case "routing":
      for (const r of ROUTES) {
        const hasId = r.parts.includes(null);
        app.get(phialRule(r), { endpoint: `r${r.index}` }, (req) => [
          routeBody(r, hasId ? (req.params as { id: number }).id : undefined),
          200,
          TEXT,
        ]);
      }
      break;
    case "validated": {
      // The body checked by zod, typed req.valid.json, the answer through the response schema.
      // Imported here, not at the top: loading zod at start-up grows V8's young generation to its
      // maximum before the memory test's baseline, which then counts young-generation pages touched
      // while connections open as memory per connection (+1.7 KiB/conn in the idle scenario).
      const { Order, Receipt, receipt } = await import("../validated/fixture.ts");
      app.post("/orders", { json: Order, response: Receipt }, (req) => receipt(req.valid.json));
      break;
    }
  }
  const server = app.listen(scenario === "idle" ? { keepAliveTimeout: IDLE_KEEP_ALIVE_MS } : {});
  const addr = await server.listen(requestedPort(), "127.0.0.1");
  return { port: addr.port, close: () => server.close({ deadline: 200 }) };
});
