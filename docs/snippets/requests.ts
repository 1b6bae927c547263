// Snippets of docs/requests.md.

import { int, Phial, request } from "phial";

const app = new Phial(import.meta.url);

// #region basic
app.post("/signup", (req) => {
  const name = req.form.require("name"); // missing → 400, like Flask's request.form["name"]
  const age = req.form.get("age", { type: int }); // undefined when absent or not an integer
  return { name, age, page: req.args.get("page") ?? "1" };
});
// #endregion

// #region multidict
app.get("/search", (req) => ({
  q: req.args.get("q"), // first value, or undefined
  tags: req.args.getAll("tag"), // ?tag=a&tag=b → ["a", "b"]
  has: req.args.has("debug"),
  all: req.args.toDict(), // { q: "x", tag: "a" } (first values; { flat: false } for arrays)
}));
// #endregion

// #region json
app.post("/api/notes", (req) => {
  const note = req.json as { title?: unknown }; // 415 unless Content-Type is JSON, 400 if malformed
  if (typeof note.title !== "string") return [{ error: "title must be a string" }, 400];
  return [{ saved: note.title }, 201];
});
app.post("/api/lenient", (req) => ({ got: req.getJson({ silent: true, force: true }) ?? null }));
// #endregion

// #region info
app.get("/whoami", (req) => ({
  method: req.method,
  path: req.path, // "/whoami"
  fullPath: req.fullPath, // "/whoami?x=1"
  url: req.url, // "http://localhost/whoami?x=1"
  host: req.host,
  scheme: req.scheme,
  remoteAddr: req.remoteAddr,
  userAgent: req.userAgent,
  accept: req.headers.get("accept"), // names are case-insensitive
  prefers: req.acceptMimetypes.bestMatch(["application/json", "text/html"]) ?? null,
  endpoint: req.endpoint ?? null,
}));
// #endregion

// #region global
app.get("/flask-style", () => `Hello from ${request.path}`);
// #endregion

// #region stream
app.put("/blob", { streamBody: true, maxContentLength: 64 * 1024 * 1024 }, async (req) => {
  let bytes = 0;
  for await (const chunk of req.stream()) bytes += chunk.length; // a 413 past the route's limit
  return { bytes };
});

// #endregion

export { app };
