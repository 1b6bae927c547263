// __NAME__: a JSON API on Phial. `npm start` serves it; `npm test` checks it.
import { abort, Phial } from "phial";

export const app = new Phial(import.meta.url);

interface Item {
  id: number;
  name: string;
}

const items = new Map<number, Item>([[1, { id: 1, name: "first" }]]);

app.get("/", () => ({ name: "__NAME__", items: items.size }));

app.get("/items/<int:id>", function item(req): Item {
  return items.get(req.params.id) ?? abort(404);
});

// A stand-in for a database call.
async function save(item: Item): Promise<Item> {
  items.set(item.id, item);
  return item;
}

app.post("/items", async (req) => {
  const data = req.getJson<{ name?: unknown } | undefined>({ silent: true });
  if (typeof data?.name !== "string" || data.name === "") return [{ error: "name is required" }, 400];
  const item = await save({ id: items.size + 1, name: data.name });
  return [item, 201, { Location: `/items/${item.id}` }];
});

// Serves when this file is run (`npx tsx app.ts`, `node app.js`); does nothing when it is imported
// (by a test, or by `phial run`, which serves the app itself).
await app.run({ port: Number(process.env.PORT ?? 5000) });
