// Snippets of docs/quickstart.md (the regions are copied into the page by scripts/sync-doc-snippets.mjs).

// #region hello
import { Phial } from "phial";

const app = new Phial(import.meta.url);

app.get("/", () => "<h1>Hello, Phial!</h1>");

await app.run({ port: 5000 }); // * Running on http://127.0.0.1:5000
// #endregion

// #region more
app.get("/user/<int:id>", (req) => ({ id: req.params.id, name: `user ${req.params.id}` }));
app.post("/echo", (req) => ({ you: req.form.get("name") ?? "anonymous" }));
app.get("/teapot", () => ["I'm a teapot", 418, { "X-Brew": "earl grey" }]);

// #endregion

export { app };
