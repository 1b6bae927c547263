// Snippets of docs/routing.md.

import { Phial, patternConverter, urlFor } from "phial";

const app = new Phial(import.meta.url);

// #region basic
app.get("/", () => "index");
app.post("/items", (req) => [{ created: req.form.get("name") }, 201]);
app.route("/both", { methods: ["GET", "POST"] }, (req) => req.method);
app.get("/user/<username>", (req) => `Hello, ${req.params.username}`);
app.get("/post/<int:id>", (req) => ({ id: req.params.id })); // id: number
// #endregion

// #region converters
app.get("/price/<float:amount>", (req) => ({ cents: Math.round(req.params.amount * 100) }));
app.get("/files/<path:name>", (req) => req.params.name); // may contain slashes
app.get("/orders/<uuid:orderId>", (req) => req.params.orderId);
app.get("/view/<any(list, grid):mode>", (req) => req.params.mode); // mode: "list" | "grid"
app.get("/code/<string(length=3):code>", (req) => req.params.code); // exactly 3 characters
app.get("/offset/<int(signed=True):n>", (req) => ({ n: req.params.n })); // -5 matches too
// #endregion

// #region slashes
app.get("/projects/", () => "the projects"); // /projects redirects (308) to /projects/
app.get("/about", () => "about"); // /about/ is a 404
// #endregion

// #region endpoints
app.get("/profile/<int:id>", function profile(req) {
  return { id: req.params.id };
});
app.get("/settings", { endpoint: "prefs" }, () => "settings");

app.get("/links", () => ({
  profile: urlFor("profile", { id: 7 }), // "/profile/7"
  withQuery: urlFor("profile", { id: 7, tab: "my posts" }), // "/profile/7?tab=my+posts"
  prefs: urlFor("prefs", { _anchor: "mail" }), // "/settings#mail"
  external: urlFor("prefs", { _external: true }), // "http://localhost/settings"
}));
// #endregion

// #region defaults
function page(req: { params: { page: number } }) {
  return `page ${req.params.page}`;
}
app.get("/page/", { defaults: { page: 1 } }, page);
app.get("/page/<int:page>", page);
// #endregion

// #region custom
declare module "phial" {
  interface ConverterTypes {
    hexnum: number; // the type handlers see for <hexnum:...>
  }
}
app.addConverter("hexnum", () =>
  patternConverter({
    pattern: /[0-9a-f]{1,8}/,
    parse: (s) => parseInt(s, 16),
    format: (v) => Number(v).toString(16),
  }),
);
app.get("/color/<hexnum:c>", (req) => ({ value: req.params.c })); // /color/ff → {"value":255}
// #endregion

// #region redirects
app.get("/old/<int:id>", { redirectTo: "/post/<id>" }, () => "never called");

// #endregion

// #region subdomains
const site = new Phial(import.meta.url, { subdomainMatching: true });
site.config.serverName = "example.com"; // Flask's SERVER_NAME; with a port if clients send one

site.get("/", function index() {
  return "the main site"; // example.com only
});
site.get("/", { subdomain: "<user>" }, function userHome(req) {
  return `${req.params.user}'s page`; // alice.example.com; user: string
});
site.get("/", { subdomain: "api" }, function api() {
  return "the API"; // api.example.com (a static subdomain wins over <user>)
});
site.get("/links", { subdomain: "<user>" }, () => ({
  home: urlFor("index"), // "http://example.com/" (another host: absolute)
  mine: urlFor("userHome", { user: "alice" }), // "/" on alice.example.com, absolute elsewhere
}));
// #endregion

// #region hosts
const hosts = new Phial(import.meta.url, { hostMatching: true, staticHost: "static.example.com" });
hosts.get("/", { host: "example.com" }, () => "main");
hosts.get("/", { host: "<shop>.shops.example.com" }, (req) => `shop ${req.params.shop}`);
hosts.get("/v1/items", { host: "api.example.com:8443" }, () => ({ items: [] }));

// #endregion

export { app, hosts, site };

// The page's claims about types, checked by the compiler (not shown in the page):
// @ts-expect-error a parameter the rule doesn't have is a compile error
app.get("/typo/<int:id>", (req) => ({ id: req.params.idd }));
app.get("/typed/<int:id>/<any(list, grid):mode>/<name>", (req) => {
  const id: number = req.params.id;
  const mode: "list" | "grid" = req.params.mode;
  const name: string = req.params.name;
  return { id, mode, name };
});
