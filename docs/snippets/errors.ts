// Snippets of docs/errors-and-hooks.md.

import { abort, g, HTTPException, NotFound, Phial } from "phial";

const app = new Phial(import.meta.url);

// #region basic
app.get("/admin", () => abort(403)); // never returns: a 403 page
app.errorHandler(404, (_err, req) => [`No page at ${req.path}`, 404]);
app.beforeRequest((req) => {
  if (req.path.startsWith("/private")) return ["Sign in first", 401]; // a value ends the request
});
// #endregion

// #region abort
const users = new Map([[1, "Ada"]]);
app.get("/users/<int:id>", (req) => {
  const name = users.get(req.params.id);
  if (name === undefined) abort(404, `No user ${req.params.id}`);
  return { name };
});
app.get("/gone", () => {
  throw new NotFound("This page moved away."); // throwing is the same as abort()
});
// #endregion

// #region handlers
class QuotaExceeded extends Error {}
app.get("/quota", () => {
  throw new QuotaExceeded("too many calls");
});
app.errorHandler(QuotaExceeded, (err) => [{ error: err.message }, 429]);
app.errorHandler(HTTPException, (err) => [{ error: err.name, status: err.status }, err.status]);
app.errorHandler(500, () => ["Something broke; we are on it.", 500]);
// #endregion

// #region hooks
app.beforeRequest((req) => {
  g.started = performance.now(); // g: per-request scratch space
  req.g.user = req.headers.get("x-user") ?? "anonymous"; // the same object
});
app.afterRequest((res) => {
  const started = g.started as number | undefined; // unset when an earlier hook ended the request
  if (started !== undefined) res.headers.set("X-Took-Ms", (performance.now() - started).toFixed(1));
  return res;
});
app.teardownRequest((err, req) => {
  if (err !== undefined) console.error(`request ${req.path} failed`, err);
});
app.get("/me", () => ({ user: g.user }));

// #endregion

export { app };
