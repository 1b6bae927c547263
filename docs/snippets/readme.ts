// The quick start of README.md.

// #region quickstart
import { jsonify, Phial, redirect, urlFor } from "phial";

const app = new Phial(import.meta.url); // templates/ and static/ next to this file

app.get("/", () => "<h1>Hello!</h1>"); // a string is HTML
app.get("/user/<int:id>", function user(req) {
  return { id: req.params.id }; // an object is JSON; params.id is a number
});
app.post("/login", (req) =>
  req.form.get("name") === "admin" ? redirect(urlFor("user", { id: 1 })) : ["Bad login", 401],
);
app.get("/ids", () => jsonify([1, 2, 3])); // arrays are tuples: [body, status, headers]

await app.run({ port: 5000 }); // or: npx phial run app.ts --debug

// #endregion

export { app };
