// The seed tutorial's Flask snippets (shared/seed/network-and-flask.md), ported one by one.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { makeResponse, redirect, request, urlFor } from "phial";
import { makeApp } from "./helpers.ts";

describe("seed: GET / POST on the same URL, two handlers", () => {
  // @app.route('/', methods=['GET', 'POST']) def home(); @app.route('/signin', methods=['GET']) def
  // signin_form(); @app.route('/signin', methods=['POST']) def signin()
  const { app } = makeApp();
  app.route("/", { methods: ["GET", "POST"] }, function home() {
    return "<h1>Home</h1>";
  });
  app.route("/signin", { methods: ["GET"] }, function signin_form() {
    return `<form action="/signin" method="post">
              <p><input name="username"></p>
              <p><input name="password" type="password"></p>
              <p><button type="submit">Sign In</button></p>
              </form>`;
  });
  app.route("/signin", { methods: ["POST"] }, function signin() {
    // 需要从request对象读取表单内容 — Flask's request.form['username'] is require()
    if (request.form.require("username") === "admin" && request.form.require("password") === "password") {
      return "<h3>Hello, admin!</h3>";
    }
    return "<h3>Bad username or password.</h3>";
  });
  const client = app.testClient();

  test("GET / and POST / both serve home", async () => {
    for (const r of [await client.get("/"), await client.post("/")]) {
      assert.equal(r.status, 200);
      assert.equal(r.text, "<h1>Home</h1>");
      assert.equal(r.headers.get("content-type"), "text/html; charset=utf-8");
    }
  });

  test("GET /signin shows the form", async () => {
    const r = await client.get("/signin");
    assert.equal(r.status, 200);
    assert.match(r.text, /<form action="\/signin" method="post">/);
  });

  test("POST /signin with admin/password greets", async () => {
    const r = await client.post("/signin", { form: { username: "admin", password: "password" } });
    assert.equal(r.text, "<h3>Hello, admin!</h3>");
  });

  test("POST /signin with other credentials refuses", async () => {
    const r = await client.post("/signin", { form: { username: "admin", password: "nope" } });
    assert.equal(r.text, "<h3>Bad username or password.</h3>");
  });

  test("POST /signin without the fields is a 400, as request.form[...] in Flask", async () => {
    const r = await client.post("/signin", { form: { username: "admin" } });
    assert.equal(r.status, 400);
    assert.match(r.text, /password/);
  });

  test("the endpoints are the function names", () => {
    assert.equal(app.urlFor("signin_form"), "/signin");
    assert.equal(app.urlFor("signin"), "/signin");
    assert.equal(app.urlFor("home"), "/");
  });

  test("PUT /signin is a 405 listing GET, HEAD, OPTIONS, POST", async () => {
    const r = await client.put("/signin");
    assert.equal(r.status, 405);
    assert.equal(r.headers.get("allow"), "GET, HEAD, OPTIONS, POST");
  });
});

describe("seed: body, status and headers (return 响应体, 响应码, 响应头)", () => {
  const { app, logs } = makeApp();
  // 第一种方式: return '成功', 200, [("token", "123456"), ("City", "深圳")]
  app.route("/login1", { methods: ["GET", "POST"] }, () => [
    "成功",
    200,
    [
      ["token", "123456"],
      ["City", "深圳"],
    ],
  ]);
  // The same with the city percent-encoded, as a header value must be Latin-1.
  app.route("/login1-encoded", { methods: ["GET", "POST"] }, () => [
    "成功",
    200,
    [
      ["token", "123456"],
      ["City", encodeURIComponent("深圳")],
    ],
  ]);
  // 第二种方式: return '成功', 200, {"token": "123456", "City": "深圳"}
  app.route("/login2", { methods: ["GET", "POST"] }, () => [
    "成功",
    200,
    { token: "123456", City: "Shenzhen" },
  ]);
  // 第三种方式: res = make_response("成功"); res.status = 200; res.headers["token"] = "123456"
  app.route("/login3", { methods: ["GET", "POST"] }, () => {
    const res = makeResponse("成功");
    res.status = 200;
    res.headers.set("token", "123456");
    res.headers.set("city", "Shenzhen");
    return res;
  });
  app.get("/login3-utf8", () => {
    const res = makeResponse("成功");
    res.headers.set("city", "深圳");
    return res;
  });
  const client = app.testClient();

  test("a tuple with a list of pairs sets status, body and headers", async () => {
    const r = await client.post("/login1-encoded");
    assert.equal(r.status, 200);
    assert.equal(r.text, "成功");
    assert.equal(r.headers.get("token"), "123456");
    assert.equal(decodeURIComponent(r.headers.get("city")!), "深圳");
  });

  test("a header value outside Latin-1 is a 500 whose log names the header", async () => {
    const r = await client.get("/login1");
    assert.equal(r.status, 500);
    const line = logs.find((l) => l.level === "error" && String(l.error).includes("City"));
    assert.ok(line, "the error names the City header");
    assert.match(String(line.error), /Latin-1/);
    assert.doesNotMatch(r.text, /City/, "the client does not see the error");
  });

  test("a tuple with a record of headers", async () => {
    const r = await client.get("/login2");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("TOKEN"), "123456");
    assert.equal(r.headers.get("city"), "Shenzhen");
  });

  test("makeResponse with a mutable status and headers", async () => {
    const r = await client.post("/login3");
    assert.equal(r.status, 200);
    assert.equal(r.text, "成功");
    assert.equal(r.headers.get("token"), "123456");
  });

  test("res.headers.set with 深圳 throws a TypeError naming the header", async () => {
    const res = makeResponse("x");
    assert.throws(() => res.headers.set("City", "深圳"), { name: "TypeError", message: /"City".*Latin-1/ });
    const r = await client.get("/login3-utf8");
    assert.equal(r.status, 500);
  });
});

describe("seed: redirect(url_for('login'))", () => {
  const { app } = makeApp();
  app.get("/", function index() {
    const loginUrl = urlFor("login");
    return redirect(loginUrl);
  });
  // @app.route('login') — Werkzeug needs the leading slash too
  app.get("/login", function login() {
    return "这是登录页面";
  });
  const client = app.testClient();

  test("/ redirects to /login with 302", async () => {
    const r = await client.get("/");
    assert.equal(r.status, 302);
    assert.equal(r.headers.get("location"), "/login");
  });

  test("following the redirect shows the login page", async () => {
    const r = await client.get("/", { followRedirects: true });
    assert.equal(r.status, 200);
    assert.equal(r.text, "这是登录页面");
    assert.deepEqual(r.history, ["/"]);
  });
});

describe("seed: cookies (response.set_cookie, request.cookies.get)", () => {
  const { app } = makeApp();
  // @app.route('/') and @app.route('/signin') on one function
  function signin_form() {
    return `<form action="/login" method="post">
              <p><input name="username"></p>
              <p><input name="password" type="password"></p>
              <p><button type="submit">Sign In</button></p>
              </form>`;
  }
  app.get("/", signin_form);
  app.get("/signin", signin_form);
  app.post("/login", function login() {
    if (request.form.require("username") === "123" && request.form.require("password") === "456") {
      const response = makeResponse("<h3>Hello, admin!</h3>");
      response.setCookie("username", request.form.require("username"));
      response.setCookie("password", request.form.require("password"));
      return response;
    }
    return "<h3>Bad username or password.</h3>";
  });
  app.get("/user", function user() {
    if (request.cookies.get("username") === "123" && request.cookies.get("password") === "456") {
      return "<h3>用户已经登录成功，并且有cookie</h3>";
    }
    return redirect("http://127.0.0.1:5000/signin");
  });

  test("one function serves / and /signin", async () => {
    const client = app.testClient();
    assert.match((await client.get("/")).text, /action="\/login"/);
    assert.match((await client.get("/signin")).text, /action="\/login"/);
    assert.equal(app.urlFor("signin_form"), "/");
  });

  test("without cookies /user redirects to the absolute sign-in URL", async () => {
    const r = await app.testClient().get("/user");
    assert.equal(r.status, 302);
    assert.equal(r.headers.get("location"), "http://127.0.0.1:5000/signin");
  });

  test("logging in sets two cookies that the client sends back", async () => {
    const client = app.testClient();
    const r = await client.post("/login", { form: { username: "123", password: "456" } });
    assert.equal(r.text, "<h3>Hello, admin!</h3>");
    assert.deepEqual(r.headers.getSetCookie(), ["username=123; Path=/", "password=456; Path=/"]);
    const u = await client.get("/user");
    assert.equal(u.status, 200);
    assert.equal(u.text, "<h3>用户已经登录成功，并且有cookie</h3>");
  });

  test("wrong credentials set no cookie", async () => {
    const client = app.testClient();
    const r = await client.post("/login", { form: { username: "123", password: "x" } });
    assert.equal(r.text, "<h3>Bad username or password.</h3>");
    assert.deepEqual(r.headers.getSetCookie(), []);
    assert.equal((await client.get("/user")).status, 302);
  });
});
