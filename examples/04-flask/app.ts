// Step 4 of the seed: the same three URLs as examples/03-handler, now one function per URL.
//
//   GET  /        home (POST too, as in the seed)
//   GET  /signin  the sign-in form
//   POST /signin  reads the form, says hello or refuses
//
// The framework maps URLs and methods to functions (no big `if`), answers 404, 405 with `Allow`,
// HEAD and OPTIONS by itself, and reads the form for us (`request.form`).
//
//   npx tsx --conditions=phial-source examples/04-flask/app.ts [port]    (default 5000, as Flask)

import { escapeHtml, Phial, request } from "phial";
import { signIn } from "./passwords.ts";

const app = new Phial(import.meta.url);

// @app.route('/', methods=['GET', 'POST'])
app.route("/", { methods: ["GET", "POST"] }, function home() {
  return "<h1>Home</h1>";
});

// @app.route('/signin', methods=['GET']) — the endpoint is the function's name, as in Flask.
app.route("/signin", { methods: ["GET"] }, function signin_form() {
  return `<form action="/signin" method="post">
              <p><input name="username"></p>
              <p><input name="password" type="password"></p>
              <p><button type="submit">Sign In</button></p>
              </form>`;
});

// @app.route('/signin', methods=['POST'])
app.route("/signin", { methods: ["POST"] }, function signin() {
  // 需要从request对象读取表单内容: `request.form.require(k)` is Flask's `request.form[k]` (a missing
  // field is a 400). Unlike the seed, the password is checked against a salted scrypt hash in constant
  // time (passwords.ts), never compared in plain text.
  const user = signIn(request.form.require("username"), request.form.require("password"));
  if (user !== undefined) return `<h3>Hello, ${escapeHtml(user)}!</h3>`;
  // The seed answers 200; a refused sign-in is better told to clients (and scripts) by its status.
  return ["<h3>Bad username or password.</h3>", 401];
});

// if __name__ == '__main__': app.run() — no guard is needed: under `phial run` this does nothing.
await app.run({ port: Number(process.argv[2] ?? 5000) });
