// The demo behind `npm start`. Until the framework lands, a small page straight from the wire.
import { createServer } from "phial/http";

const page = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Phial</title>
<h1>Phial</h1>
<p>Served by phial/http, on node:net.</p>
`;

const server = createServer(async (req, res) => {
  if (req.url === "/echo" && (req.method === "POST" || req.method === "PUT")) {
    // Reading the body is what sends `100 Continue` to a client that asked for it.
    const body = await req.body();
    res.setHeader("Content-Type", req.header("content-type") ?? "application/octet-stream");
    res.end(body);
    return;
  }
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain; charset=utf-8" });
    res.end("Method Not Allowed\n");
    return;
  }
  if (req.url !== "/") {
    res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
    res.end("Not Found\n");
    return;
  }
  res.setHeader("Content-Type", "text/html; charset=utf-8");
  res.end(page);
});

const port = Number(process.env.PORT ?? 5000);
const addr = await server.listen(port, process.env.HOST ?? "127.0.0.1");
console.log(`Serving on http://${addr.address}:${addr.port} (Ctrl-C to stop)`);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    void server.close({ deadline: 5_000 }).then(() => process.exit(0));
  });
}
