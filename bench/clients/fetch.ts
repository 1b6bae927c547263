// Client row "fetch": Node's global fetch (the undici bundled with Node), default dispatcher.

import type { CreateClient } from "./types.ts";

export const create: CreateClient = (origin) => ({
  async get(path) {
    const res = await fetch(origin + path);
    return { status: res.status, body: await res.text() };
  },
  close: async () => {},
});
