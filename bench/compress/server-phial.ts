// Phial with `compression` on (gzip level 6, brotli quality 4: its defaults) for bench/compress/run.ts:
// /page returns the page from a view, /static/page.html is the same bytes as a static file.
import { Phial, Response } from "phial";
import { serveControl } from "../lib/control.ts";
import { pageDir, pageHtml } from "./page.ts";

const PAGE = pageHtml();
const app = new Phial(import.meta.url, {
  fromEnv: false,
  staticFolder: pageDir(),
  staticUrlPath: "/static",
  config: { compression: { gzipLevel: 6, brotliQuality: 4 }, securityHeaders: false },
});
app.get("/page", () => new Response(PAGE, { headers: { "Content-Type": "text/html; charset=utf-8" } }));
const server = app.listen();
const { port } = await server.listen(0, "127.0.0.1");
serveControl(port);
