// Snippets of docs/flask.md: a small Flask app, ported.

// #region port
import { abort, flash, jsonify, Phial, redirect, renderTemplateString, urlFor } from "phial";

const app = new Phial(import.meta.url);
app.config.secretKey = process.env.SECRET_KEY ?? "dev";

const posts = new Map<number, string>([[1, "Hello"]]);

app.get("/", function index() {
  return renderTemplateString(
    "{% for m in get_flashed_messages() %}<p>{{ m }}</p>{% endfor %}<h1>{{ n }} posts</h1>",
    { n: posts.size },
  );
});

app.get("/posts/<int:id>", function show(req) {
  const title = posts.get(req.params.id); // req.params.id is a number
  if (title === undefined) abort(404);
  return { id: req.params.id, title };
});

app.post("/posts", function create(req) {
  const id = posts.size + 1;
  posts.set(id, req.form.require("title"));
  flash("Created!");
  return redirect(urlFor("show", { id }));
});

app.get("/api/posts", () => jsonify([...posts.keys()])); // a JSON array needs jsonify

app.errorHandler(404, () => [{ error: "not found" }, 404]);

// #endregion

export { app };
