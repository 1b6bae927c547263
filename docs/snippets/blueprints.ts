// Snippets of docs/blueprints.md.

import { Blueprint, Phial, urlFor } from "phial";

// #region basic
const admin = new Blueprint("admin", { urlPrefix: "/admin" });
admin.get("/", function index() {
  return `admin home; users at ${urlFor(".users")}`; // ".users" = this blueprint's "users"
});
admin.get("/users", function users() {
  return "the users";
});
admin.beforeRequest((req) => (req.headers.get("x-admin") === "yes" ? undefined : ["admins only", 403]));

const app = new Phial(import.meta.url);
app.registerBlueprint(admin); // endpoints "admin.index", "admin.users"
// #endregion

// #region nested
const api = new Blueprint("api", { urlPrefix: "/api" });
const v1 = new Blueprint("v1", { urlPrefix: "/v1" });
v1.get("/ping", function ping() {
  return { pong: true };
});
api.registerBlueprint(v1); // endpoint "api.v1.ping" at /api/v1/ping
app.registerBlueprint(api);
app.registerBlueprint(admin, { name: "staff", urlPrefix: "/staff" }); // the same blueprint again

// #endregion

export { app };
