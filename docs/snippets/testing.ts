// Snippets of docs/testing.md: a test file as you would write it (run by test/docs/snippets.test.ts).

// #region basic
import assert from "node:assert/strict";
import { test } from "node:test";
import { Phial } from "phial";
import { sessionTransaction } from "phial/testing";

const app = new Phial(import.meta.url);
app.config.secretKey = "test";
app.get("/", (req) => `visits: ${req.session.get("n", 0)}`);
app.post("/visit", (req) => {
  req.session.set("n", (req.session.get("n", 0) as number) + 1);
  return "ok";
});

test("the session survives between requests of one client", async () => {
  const client = app.testClient(); // keeps cookies, like Flask's
  await client.post("/visit");
  const res = await client.get("/");
  assert.equal(res.status, 200);
  assert.equal(res.text, "visits: 1");
});
// #endregion

// #region options
app.post("/form", (req) => ({ name: req.form.get("name"), file: req.files.get("f")?.filename ?? null }));

test("forms, files, headers, query", async () => {
  const client = app.testClient();
  const form = await client.post("/form", {
    form: { name: "Ada" },
    files: { f: { filename: "a.txt", data: "hello", contentType: "text/plain" } },
  });
  assert.deepEqual(form.json, { name: "Ada", file: "a.txt" });
  const notFound = await client.get("/nope", { headers: { Accept: "text/html" }, query: { q: 1 } });
  assert.equal(notFound.status, 404);
});

// #endregion

// #region session
test("a test can set the session directly", async () => {
  const client = app.testClient();
  await sessionTransaction(client, (session) => {
    session.set("n", 41);
  });
  await client.post("/visit");
  assert.equal((await client.get("/")).text, "visits: 42");
});

// #endregion

export { app };
