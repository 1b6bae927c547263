// The seed's render_template: templates/index.html says hello to `{{ user.nickname }}`.
//
//   GET /index           Hello, Miguel!
//   GET /hello/<name>    the same template with a name from the URL: autoescaped, so
//                        /hello/<script> shows the text "<script>", it never runs
//
// Templates are Jinja syntax (through Nunjucks) in templates/ next to this file.
//
//   npx tsx --conditions=phial-source examples/04-flask/templates.ts [port]

import { Phial, renderTemplate } from "phial";

const app = new Phial(import.meta.url);

// @app.route('/index') def index(): data = {'nickname': 'Miguel'}; return render_template("index.html", user=data)
app.get("/index", function index() {
  const data = { nickname: "Miguel" }; // fake user
  return renderTemplate("index.html", { user: data });
});

// params.name is a string, typed from the rule.
app.get("/hello/<name>", function hello(req) {
  return renderTemplate("index.html", { user: { nickname: req.params.name } });
});

await app.run({ port: Number(process.argv[2] ?? 5000) });
