// Fastify with @fastify/compress (gzip level 6, brotli quality 4: its defaults, stated here) and
// @fastify/static for bench/compress/run.ts; the same two URLs as server-phial.ts.
import { constants } from "node:zlib";
import fastifyCompress from "@fastify/compress";
import fastifyStatic from "@fastify/static";
import Fastify from "fastify";
import { serveControl } from "../lib/control.ts";
import { pageDir, pageHtml } from "./page.ts";

const PAGE = pageHtml();
const app = Fastify({ logger: false });
await app.register(fastifyCompress, {
  threshold: 1024,
  zlibOptions: { level: 6 },
  brotliOptions: { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } },
});
await app.register(fastifyStatic, { root: pageDir(), prefix: "/static/" });
app.get("/page", async (_req, reply) => reply.type("text/html; charset=utf-8").send(PAGE));
await app.listen({ port: 0, host: "127.0.0.1" });
const a = app.server.address();
serveControl(typeof a === "object" && a ? a.port : 0);
