// The seed's cookie example: sign in at /login, then /user checks that you did.
//
//   GET  / and /signin   the form (it posts to /login)
//   POST /login          right password: "Hello", and the browser keeps who you are
//   GET  /user           signed in: a page; else a redirect to the sign-in form
//
// The seed does `set_cookie('username', ...)` and `set_cookie('password', ...)`, then trusts those
// cookies on /user. Never do that:
//   - a password in a cookie sits in the browser's profile in clear, goes out with every request and
//     ends up in proxies' and servers' logs;
//   - a plain cookie proves nothing: anyone can send `Cookie: username=123` (curl -b username=123).
// The right way is a signed session: `session.set("user", name)` puts the name in a cookie signed with
// HMAC-SHA256 under `secretKey` (and HttpOnly, SameSite=Lax), so the browser can keep it but not forge
// it, and no password is kept anywhere. The plain `username` cookie is still set, as in the seed, but
// only to fill in the form next time; /user never trusts it.
//
//   npx tsx --conditions=phial-source examples/04-flask/cookies.ts [port]

import { randomBytes } from "node:crypto";
import { escapeHtml, makeResponse, Phial, redirect, request, session, urlFor } from "phial";
import { signIn } from "./passwords.ts";

const app = new Phial(import.meta.url);
// From PHIAL_SECRET_KEY when set (read by the app's config); else a random key: sessions then end when
// the process does. A real app keeps its key in its deployment's secrets.
app.config.secretKey ??= randomBytes(32).toString("hex");

// In the seed, @app.route('/') sits above @app.route('/signin'): decorators apply bottom-up, so Flask
// registers /signin first and url_for('signin_form') is '/signin'. The same order here.
function signin_form() {
  const last = escapeHtml(request.cookies.get("username") ?? "");
  return `<form action="/login" method="post">
              <p><input name="username" value="${last}"></p>
              <p><input name="password" type="password"></p>
              <p><button type="submit">Sign In</button></p>
              </form>`;
}
app.get("/signin", signin_form);
app.get("/", signin_form);

app.post("/login", function login() {
  const user = signIn(request.form.require("username"), request.form.require("password"));
  if (user !== undefined) {
    session.clear(); // a fresh session at sign-in: nothing from before survives (session fixation)
    session.set("user", user);
    const response = makeResponse("<h3>Hello, admin!</h3>");
    // The seed's cookie, minus the password: a convenience, not a proof (see above).
    response.setCookie("username", user, { maxAge: 30 * 24 * 3600, httpOnly: true, sameSite: "Lax" });
    return response;
  }
  return ["<h3>Bad username or password.</h3>", 401];
});

app.get("/user", function user() {
  // 如果有 session（签名的 Cookie）并且用户是 123，显示页面; else back to the form.
  if (session.get("user") === "123") {
    return "<h3>用户已经登录成功，并且有cookie</h3>";
  }
  // The seed hard-codes redirect('http://127.0.0.1:5000/signin'): wrong on any other host or port.
  // urlFor builds the path from the endpoint's name.
  return redirect(urlFor("signin_form"));
});

await app.run({ port: Number(process.argv[2] ?? 5000) });
