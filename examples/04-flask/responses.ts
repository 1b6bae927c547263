// The seed's three ways to set the body, status and headers of a response (return 响应体, 响应码, 响应头):
//
//   GET|POST /login    a tuple whose headers are a list of pairs   ('成功', 200, [("token", "123456"), ...])
//   GET|POST /login2   a tuple whose headers are an object         ('成功', 200, {"token": "123456", ...})
//   GET|POST /login3   make_response, then status and headers set one by one
//   GET      /login-as-in-the-seed   the seed's exact headers: a 500, see below
//
// One fix throughout: the seed sends `City: 深圳`. A header value is bytes, and HTTP only defines
// ASCII in it (RFC 9110 §5.5; Latin-1 at most, for old content): raw UTF-8 is read as mojibake or
// refused by clients, and Flask (Werkzeug) silently sends it as Latin-1 "?"s or fails. Phial refuses
// it with a TypeError that names the header, so the mistake shows up in the log, not in a browser.
// The fix is to encode the value: percent-encoding (`encodeURIComponent`, what a client undoes with
// `decodeURIComponent`), or, for a header whose standard says so (Content-Disposition's `filename*`),
// RFC 8187's `UTF-8''%E6%B7%B1%E5%9C%B3` form.
//
//   npx tsx --conditions=phial-source examples/04-flask/responses.ts [port]

import { makeResponse, Phial } from "phial";

const app = new Phial(import.meta.url);

/** 深圳 as a header can carry it: `%E6%B7%B1%E5%9C%B3`. */
const CITY = encodeURIComponent("深圳");

// 第一种方式: return '成功', 200, [("token", "123456"), ("City", "深圳")]
// A list of pairs keeps order and repeats (two Set-Cookie, say).
app.route("/login", { methods: ["GET", "POST"] }, function login() {
  return [
    "成功",
    200,
    [
      ["token", "123456"],
      ["City", CITY],
    ],
  ];
});

// 第二种方式: return '成功', 200, {"token": "123456", "City": "深圳"}
app.route("/login2", { methods: ["GET", "POST"] }, function login_dict() {
  return ["成功", 200, { token: "123456", City: CITY }];
});

// 第三种方式: res = make_response("成功"); res.status = 200; res.headers["token"] = "123456"; ...
app.route("/login3", { methods: ["GET", "POST"] }, function login_make_response() {
  const res = makeResponse("成功"); // 设置响应体
  res.status = 200; // 设置响应码
  res.headers.set("token", "123456"); // 设置响应头
  res.headers.set("city", CITY);
  return res;
});

// What the seed wrote, unchanged: the TypeError ("City" … Latin-1 … encode it) goes to the log and
// the client gets a plain 500 page, never a header it cannot read.
app.get("/login-as-in-the-seed", function login_as_in_the_seed() {
  return [
    "成功",
    200,
    [
      ["token", "123456"],
      ["City", "深圳"],
    ],
  ];
});

await app.run({ port: Number(process.argv[2] ?? 5000) });
