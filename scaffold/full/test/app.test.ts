import assert from "node:assert/strict";
import { test } from "node:test";
import { app } from "../app.ts";

test("the home page renders the layout and the form", async () => {
  const res = await app.testClient().get("/");
  assert.equal(res.status, 200);
  assert.match(res.text, /<title>Home - __NAME__<\/title>/);
  assert.match(res.text, /<form method="post" action="\/hello">/);
  assert.match(res.text, /href="\/static\/style.css/);
});

test("the form greets, and the session remembers the name", async () => {
  const client = app.testClient(); // keeps cookies, like a browser
  const posted = await client.post("/hello", { form: { name: "<Ada>" } });
  assert.equal(posted.status, 302);
  const home = await client.get("/");
  assert.match(home.text, /Hello, &lt;Ada&gt;!/); // the flashed message, escaped
  assert.match(home.text, /Welcome back, &lt;Ada&gt;/);
  assert.doesNotMatch((await client.get("/")).text, /class="flash"/); // flashed once
});

test("static files are served", async () => {
  const res = await app.testClient().get("/static/style.css");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/css/);
});

test("the notes blueprint stores and lists notes", async () => {
  const client = app.testClient();
  assert.equal((await client.post("/notes/", { form: { text: "" } })).status, 400);
  assert.equal((await client.post("/notes/", { form: { text: "milk" } })).status, 201);
  assert.deepEqual((await client.get("/notes/")).json, { notes: [{ id: 1, text: "milk" }] });
});
