// __NAME__: a Phial app with templates, static files, a session and a form.
// `npm start` serves it; `npm run dev` serves it in debug mode, reloading on changes; `npm test` checks it.
import { flash, Phial, redirect, renderTemplate, urlFor } from "phial";
import { notes } from "./notes.ts";

export const app = new Phial(import.meta.url); // templates/ and static/ next to this file
app.config.secretKey = process.env.SECRET_KEY ?? "dev only: set SECRET_KEY in production";

app.get("/", function index(req) {
  return renderTemplate("index.html", { name: req.session.get("name") ?? null });
});

app.post("/hello", function hello(req) {
  const name = (req.form.get("name") ?? "").trim();
  if (name === "") {
    flash("Please tell me your name.");
  } else {
    req.session.set("name", name);
    flash(`Hello, ${name}!`);
  }
  return redirect(urlFor("index"));
});

app.registerBlueprint(notes, { urlPrefix: "/notes" });

// Serves when this file is run (`npx tsx app.ts`, `node app.js`); does nothing when it is imported
// (by a test, or by `phial run`, which serves the app itself).
await app.run({ port: Number(process.env.PORT ?? 5000) });
