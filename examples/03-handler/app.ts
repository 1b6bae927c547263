// Step 3 of the seed: the WSGI step. One function answers every request, on phial/http (our own
// HTTP/1.1 engine on node:net) — the TypeScript twin of `application(environ, start_response)`.
//
// It works, and it shows why frameworks exist: every URL and method is another branch of one `if`,
// parameters are parsed by hand, and nothing says which methods a URL allows. Step 4 (examples/04-flask)
// turns each branch into a route.
//
//   npx tsx --conditions=phial-source examples/03-handler/app.ts [port]

import { createServer, type IncomingRequest, type Server, type ServerResponse } from "phial/http";

function html(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "Content-Type": "text/html; charset=utf-8" });
  res.end(body);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The whole application: one handler, one big `if`. */
export async function application(req: IncomingRequest, res: ServerResponse): Promise<void> {
  const method = req.method;
  const path = req.url.split("?", 1)[0];
  if (path === "/") {
    if (method === "GET" || method === "HEAD") return html(res, 200, "<h1>Home</h1>");
    res.setHeader("Allow", "GET, HEAD");
    return html(res, 405, "<h1>Method Not Allowed</h1>");
  }
  if (path === "/signin") {
    if (method === "GET" || method === "HEAD") {
      return html(
        res,
        200,
        `<form action="/signin" method="post">
  <p><input name="username"></p>
  <p><input name="password" type="password"></p>
  <p><button type="submit">Sign In</button></p>
</form>`,
      );
    }
    if (method === "POST") {
      // Reading the body is our job here: the engine frames it (Content-Length or chunked), we decode it.
      const form = new URLSearchParams(await req.text());
      const user = form.get("username") ?? "";
      if (user === "admin" && form.get("password") === "password") {
        return html(res, 200, `<h3>Hello, ${escapeHtml(user)}!</h3>`);
      }
      return html(res, 401, "<h3>Bad username or password.</h3>");
    }
    res.setHeader("Allow", "GET, HEAD, POST");
    return html(res, 405, "<h1>Method Not Allowed</h1>");
  }
  html(res, 404, "<h1>Not Found</h1>");
}

export function start(port = 8000): Promise<Server> {
  const server = createServer(application);
  return server.listen(port, "127.0.0.1").then(() => server);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await start(Number(process.argv[2] ?? 8000));
  console.log(`listening on http://127.0.0.1:${server.address()!.port}/`);
  process.once("SIGINT", () => void server.close().then(() => process.exit(0)));
  process.once("SIGTERM", () => void server.close().then(() => process.exit(0)));
}
