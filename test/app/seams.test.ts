// The seams other modules build on: session interface, body loaders, callOnClose.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type FileStorage,
  MultiDict,
  Phial,
  type Request,
  type SessionInterface,
  type SessionLike,
  session,
} from "phial";
import { makeApp } from "./helpers.ts";

/** A stand-in session (typed loosely so that a richer SessionLike keeps this test compiling). */
class MemorySession extends Map<string, unknown> {
  permanent = false;
  modified = false;
  override set(k: string, v: unknown): this {
    this.modified = true;
    return super.set(k, v);
  }
}

function memorySessions(log: string[]): SessionInterface {
  return {
    open(_app, req) {
      log.push(`open ${req.path}`);
      const s = new MemorySession();
      const raw = req.cookies.get("mem");
      if (raw !== undefined) for (const [k, v] of Object.entries(JSON.parse(raw) as object)) s.set(k, v);
      s.modified = false;
      return s as unknown as SessionLike;
    },
    save(_app, session, req, res) {
      const s = session as unknown as MemorySession;
      log.push(`save ${req.path} ${String(s.modified)}`);
      res.headers.append("Vary", "Cookie");
      if (s.modified) res.setCookie("mem", JSON.stringify(Object.fromEntries(s as MemorySession)));
    },
  };
}

describe("sessionInterface", () => {
  test("req.session opens lazily and is saved after the afterRequest hooks", async () => {
    const { app } = makeApp();
    const log: string[] = [];
    app.sessionInterface = memorySessions(log);
    app.afterRequest((res) => {
      log.push("after");
      return res;
    });
    app.get("/set", (req) => {
      (req.session as unknown as MemorySession).set("user", "ann");
      return "set";
    });
    app.get("/get", () => String((session as unknown as MemorySession).get("user")));
    app.get("/none", () => "no session");
    const c = app.testClient();
    await c.get("/set");
    assert.equal((await c.get("/get")).text, "ann");
    const r = await c.get("/none");
    assert.equal(r.headers.get("vary"), undefined, "an untouched session is not saved");
    assert.deepEqual(log, [
      "open /set",
      "after",
      "save /set true",
      "open /get",
      "after",
      "save /get false",
      "after",
    ]);
  });

  test("the fast path (no hooks) saves too", async () => {
    const log: string[] = [];
    const { app } = makeApp();
    app.sessionInterface = memorySessions(log);
    app.get("/", async (req) => {
      await null;
      (req.session as unknown as MemorySession).set("n", 1);
      return "x";
    });
    const r = await app.testClient().get("/");
    assert.match(r.headers.get("set-cookie") ?? "", /^mem=/);
    assert.deepEqual(log, ["open /", "save / true"]);
  });

  test("without a session interface, req.session says so", async () => {
    const { app, logs } = makeApp();
    app.sessionInterface = undefined;
    app.get("/", (req) => String((req.session as unknown as MemorySession).get("x")));
    assert.equal((await app.testClient().get("/")).status, 500);
    assert.match(String(logs[0]?.error), /session/i);
  });
});

describe("bodyLoaders", () => {
  test("a loader for a media type reads the stream and fills form and files", async () => {
    const { app } = makeApp();
    app.bodyLoaders.set("multipart/form-data", async (req: Request) => {
      let text = "";
      for await (const chunk of req.stream()) text += chunk.toString("latin1");
      const file: FileStorage = {
        name: "doc",
        filename: "a.txt",
        contentType: "text/plain",
        mimetype: "text/plain",
        size: text.length,
        read: async () => Buffer.from(text),
        stream: async function* () {
          yield Buffer.from(text);
        },
        save: async () => undefined,
      };
      req.parsedForm = new MultiDict([["field", "v"]]).freeze();
      req.parsedFiles = new MultiDict([["doc", file]]).freeze();
    });
    app.post("/up", async (req) => ({
      field: req.form.get("field") ?? null,
      file: req.files.get("doc")?.filename ?? null,
      body: (await req.files.get("doc")?.read())?.toString() ?? null,
      data: req.data === undefined,
    }));
    const r = await app
      .testClient()
      .post("/up", { data: "raw-bytes", contentType: "multipart/form-data; boundary=x" });
    assert.deepEqual(r.json, { field: "v", file: "a.txt", body: "raw-bytes", data: true });
  });

  test("Phial.defaultBodyLoaders apply to every app", async () => {
    Phial.defaultBodyLoaders.set("application/x-test", async (req) => {
      req.parsedForm = new MultiDict([["from", "default"]]).freeze();
    });
    try {
      const { app } = makeApp();
      app.post("/", (req) => req.form.get("from") ?? "none");
      assert.equal(
        (await app.testClient().post("/", { data: "x", contentType: "application/x-test" })).text,
        "default",
      );
    } finally {
      Phial.defaultBodyLoaders.delete("application/x-test");
    }
  });

  test("the loader's stream still enforces maxContentLength", async () => {
    const { app } = makeApp({ config: { maxContentLength: 4 } });
    app.bodyLoaders.set("multipart/form-data", async (req) => {
      for await (const _ of req.stream()) {
        // read all
      }
    });
    app.post("/up", () => "ok");
    async function* body() {
      yield Buffer.from("123");
      yield Buffer.from("456");
    }
    const r = await app
      .testClient()
      .post("/up", { data: body(), contentType: "multipart/form-data; boundary=x" });
    assert.equal(r.status, 413);
  });
});

describe("callOnClose", () => {
  test("with a streamed body, runs once the body was sent", async () => {
    const { app } = makeApp();
    const seen: string[] = [];
    app.get("/s", (req) => {
      req.callOnClose(() => {
        seen.push("close");
      });
      return (function* () {
        seen.push("chunk1");
        yield "a";
        seen.push("chunk2");
        yield "b";
      })();
    });
    const r = await app.testClient().get("/s");
    assert.equal(r.text, "ab");
    assert.deepEqual(seen, ["chunk1", "chunk2", "close"]);
  });

  test("runs after the response is made, errors logged", async () => {
    const { app, logs } = makeApp();
    const seen: string[] = [];
    app.get("/", (req) => {
      req.callOnClose(() => {
        seen.push("cleanup");
      });
      req.callOnClose(() => {
        throw new Error("cleanup broke");
      });
      return "ok";
    });
    assert.equal((await app.testClient().get("/")).text, "ok");
    assert.deepEqual(seen, ["cleanup"]);
    assert.ok(logs.some((l) => String(l.error).includes("cleanup broke")));
  });
});
