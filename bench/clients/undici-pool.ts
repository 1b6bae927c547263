// Client row "undici request + Pool": undici's low-level API, the fastest way undici offers.

import { Pool } from "undici";
import type { CreateClient } from "./types.ts";

export const create: CreateClient = (origin, connections) => {
  const pool = new Pool(origin, { connections, pipelining: 1 });
  return {
    async get(path) {
      const res = await pool.request({ method: "GET", path });
      return { status: res.statusCode, body: await res.body.text() };
    },
    close: () => pool.close(),
  };
};
