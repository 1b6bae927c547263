// Step 2 again, in three lines with phial/client: what by-hand.ts does on a raw socket, on phial's
// strict parser, with keep-alive, redirects, timeouts, TLS (https: URLs) and gzip/br decoding.
//
//   npx tsx --conditions=phial-source examples/02-http-client/three-lines.ts http://127.0.0.1:8000/

import { get } from "phial/client";

const res = await get(process.argv[2] ?? "http://127.0.0.1:8000/", { timeout: 10_000 });
console.log(res.status);
console.log("--------------------");
console.log({ ...res.headers.toJSON() });
console.log("--------------------");
console.log(await res.text());
