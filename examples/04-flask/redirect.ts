// The seed's redirect: `/` sends the browser to the login page, found by its endpoint name.
//
//   GET /       302, Location: /login (built by urlFor, so renaming the URL changes nothing here)
//   GET /login  这是登录页面
//
//   npx tsx --conditions=phial-source examples/04-flask/redirect.ts [port]

import { Phial, redirect, urlFor } from "phial";

const app = new Phial(import.meta.url);

// @app.route('/') def index(): login_url = url_for('login'); return redirect(login_url)
app.get("/", function index() {
  const loginUrl = urlFor("login");
  return redirect(loginUrl);
});

// The seed writes @app.route('login'): a rule needs its leading slash (Werkzeug refuses one without).
app.get("/login", function login() {
  return "这是登录页面";
});

// app.run(debug=True): logs each request and shows a stack trace page for errors, to this machine
// only. Never in production.
await app.run({ port: Number(process.argv[2] ?? 5000), debug: true });
