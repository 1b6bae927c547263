// Snippets of docs/templates.md (templates in docs/snippets/templates/).

import { Phial, renderTemplate, renderTemplateString } from "phial";

const app = new Phial(import.meta.url); // templates/ next to this file

// #region basic
app.get("/hello/<name>", function greet(req) {
  return renderTemplate("hello.html", { name: req.params.name }); // autoescaped: <b> → &lt;b&gt;
});
// #endregion

// #region string
app.get("/inline", () => renderTemplateString("<p>{{ 1 + 2 }} and {{ text }}</p>", { text: "<i>x</i>" }));
// #endregion

// #region env
app.templates.addFilter("shout", (s: unknown) => `${String(s).toUpperCase()}!`);
app.templates.addGlobal("siteName", "My site");
app.get("/filters", () => renderTemplateString("{{ siteName }}: {{ 'hi' | shout }}"));

// #endregion

export { app };
