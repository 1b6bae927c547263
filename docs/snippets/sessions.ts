// Snippets of docs/cookies-and-sessions.md.

import { flash, getFlashedMessages, makeResponse, Phial, redirect, session, urlFor } from "phial";

const app = new Phial(import.meta.url);

// #region cookies
app.get("/remember", (req) => {
  const res = makeResponse(`Hello again, ${req.cookies.get("name") ?? "stranger"}`);
  res.setCookie("name", "Ada", { maxAge: 7 * 24 * 3600, httpOnly: true, sameSite: "Lax" }); // seconds!
  return res;
});
app.get("/forget", () => makeResponse("forgotten").deleteCookie("name"));
// #endregion

// #region session
app.config.secretKey = process.env.SECRET_KEY ?? "dev only: set SECRET_KEY in production";

app.post("/login", function login(req) {
  req.session.set("user", req.form.require("user"));
  req.session.permanent = true; // lasts config.permanentSessionLifetime (31 days) instead of the browser session
  flash(`Welcome, ${req.form.require("user")}!`);
  return redirect(urlFor("home"));
});
app.get("/", function home(req) {
  const user = req.session.get("user");
  return { user: user ?? null, messages: getFlashedMessages() };
});
app.post("/logout", () => {
  session.clear(); // the global `session` is the current request's
  return redirect("/");
});

// #endregion

export { app };
