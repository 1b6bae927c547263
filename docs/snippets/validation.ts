// Snippets of docs/validation.md.

import { toStandardJsonSchema } from "@valibot/to-json-schema";
import {
  Blueprint,
  MethodView,
  Phial,
  type Request,
  serveOpenAPI,
  ValidationError,
  type ValidOf,
} from "phial";
import type { TestClient } from "phial/testing";
import * as v from "valibot";
import { z } from "zod";

export const app = new Phial(import.meta.url);
const items = new Map<number, { id: number; name: string; price: number; tags: string[] }>(); // hide

// #region basic
const Item = z.object({
  name: z.string().min(1),
  price: z.number().positive(),
  tags: z.array(z.string()).default([]),
});
const ItemOut = Item.extend({ id: z.number().int() });

app.put(
  "/items/<int:id>",
  { json: Item, query: z.object({ dryRun: z.boolean().default(false) }), response: ItemOut },
  (req) => {
    const item = { id: req.params.id, ...req.valid.json }; // typed: { id: number; name: string; … }
    if (!req.valid.query.dryRun) items.set(item.id, item);
    return item;
  },
);
// #endregion

// #region query
const Search = z.object({
  q: z.string().optional(),
  page: z.number().int().min(1).default(1), // ?page=2 → 2
  tag: z.array(z.string()).default([]), // ?tag=a&tag=b → ["a", "b"]; ?tag=a → ["a"]
  exact: z.boolean().default(false), // ?exact=true / 1 / on
});
app.get("/search", { query: Search }, (req) => {
  const { q, page, tag, exact } = req.valid.query;
  return { q: q ?? null, page, tag, exact };
});
// #endregion

// #region valibot
const Signup = v.object({
  email: v.pipe(v.string(), v.email()),
  age: v.optional(v.pipe(v.number(), v.integer(), v.minValue(13))),
});
app.post("/signup", { form: toStandardJsonSchema(Signup) }, (req) => [
  { welcome: req.valid.form.email },
  201,
]);
// #endregion

// #region response
const Public = z.object({ id: z.number(), name: z.string() });
app.get("/me", { response: Public }, () => {
  const row = { id: 1, name: "Ada", passwordHash: "$scrypt$…" };
  return row; // sent: {"id":1,"name":"Ada"}: the hash is not in the schema, so it never leaves
});
// #endregion

// #region errors
const api = new Blueprint("api", { urlPrefix: "/api" });
api.post("/ping", { json: z.object({ n: z.number() }) }, (req) => ({ pong: req.valid.json.n }));
api.errorHandler(ValidationError, (e) => [
  { message: "Check your input", fields: e.issues.map((i) => i.location) },
  400,
]);
app.registerBlueprint(api);
// #endregion

// #region openapi
serveOpenAPI(app, { title: "Shop", version: "1.0.0" }); // GET /openapi.json and the page at /docs
// #endregion

// #region options
app.delete(
  "/items/<int:id>",
  { summary: "Delete an item", description: "Gone for good.", tags: ["items"], status: 204 },
  (req) => {
    items.delete(req.params.id);
    return ["", 204];
  },
);
// #endregion

// #region typed-client
const AddItem = { json: Item, response: ItemOut, summary: "Add an item" };
app.post("/items", AddItem, (req) => {
  const item = { id: items.size + 1, ...req.valid.json };
  items.set(item.id, item);
  return [item, 201];
});

// In a test: the same object types the request and the answer.
export async function addPen(client: TestClient): Promise<string> {
  const r = await client.for(AddItem).post("/items", { json: { name: "pen", price: 2 } });
  // { json: { name: "pen" } } would not compile: `price` is required by Item
  return r.json.name; // a string, as ItemOut says
}
// #endregion

// #region method-view
class ItemApi extends MethodView {
  static override schemas = {
    get: { response: ItemOut, summary: "Read an item" },
    patch: { json: Item.partial(), response: ItemOut, summary: "Change an item" },
  };
  get(req: Request<{ id: number }>) {
    return items.get(req.params.id) ?? ["no such item", 404];
  }
  patch(req: Request<{ id: number }, ValidOf<typeof ItemApi.schemas.patch>>) {
    const item = items.get(req.params.id);
    if (item === undefined) return ["no such item", 404];
    Object.assign(item, req.valid.json); // typed: { name?: string; price?: number; tags?: string[] }
    return item;
  }
}
app.route("/v2/items/<int:id>", ItemApi.asView("item_api"));
// #endregion
