// Snippets of docs/client.md (type-checked; the client itself is tested in test/client/).

// #region basic
import { Client, get } from "phial/client";

// biome-ignore format: the body is shown unindented in docs/client.md
export async function example() { // hide
const res = await get("http://127.0.0.1:8000/");
console.log(res.status, res.headers.get("content-type"), await res.text());

const client = new Client({ baseUrl: "https://example.test", timeout: 5_000, cookies: true });
const data = await (await client.post("/api", { json: { a: 1 } })).json();
client.close();
return data; // hide
} // hide
// #endregion
