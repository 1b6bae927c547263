import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { curl, type Running, startExample } from "../_support.ts";

let app: Running;
before(async () => {
  app = await startExample(fileURLToPath(new URL("app.ts", import.meta.url)));
});
after(() => app.stop());

test("GET / answers the home page", async () => {
  const r = await curl([`${app.url}/`]);
  assert.equal(r.status, 200);
  assert.equal(r.headers["content-type"], "text/html; charset=utf-8");
  assert.equal(r.body, "<h1>Home</h1>");
});

test("the sign-in form and its POST, right and wrong password", async () => {
  const form = await curl([`${app.url}/signin`]);
  assert.match(form.body, /<form action="\/signin" method="post">/);
  const ok = await curl(["-d", "username=admin&password=password", `${app.url}/signin`]);
  assert.equal(ok.status, 200);
  assert.equal(ok.body, "<h3>Hello, admin!</h3>");
  const bad = await curl(["-d", "username=admin&password=nope", `${app.url}/signin`]);
  assert.equal(bad.status, 401);
});

test("the hand-written branches must also do 404 and 405 themselves", async () => {
  assert.equal((await curl([`${app.url}/nowhere`])).status, 404);
  const r = await curl(["-X", "DELETE", `${app.url}/signin`]);
  assert.equal(r.status, 405);
  assert.equal(r.headers.allow, "GET, HEAD, POST");
});
