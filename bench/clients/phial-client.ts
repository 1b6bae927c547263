// Client row "phial/client": a Client with a keep-alive pool per origin, as a user sets it up.

import { Client } from "phial/client";
import type { CreateClient } from "./types.ts";

export const create: CreateClient = (origin, connections) => {
  const client = new Client({ baseUrl: origin, connections });
  return {
    async get(path) {
      const res = await client.get(path);
      return { status: res.status, body: await res.text() };
    },
    close: async () => client.close(),
  };
};
