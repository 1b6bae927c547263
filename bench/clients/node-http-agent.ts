// Client row "node:http + keep-alive Agent": http.request with a pooled Agent.

import { Agent, request } from "node:http";
import type { CreateClient } from "./types.ts";

export const create: CreateClient = (origin, connections) => {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const base = new URL(origin);
  const host = base.hostname;
  const port = Number(base.port);
  return {
    get(path) {
      return new Promise((resolve, reject) => {
        const req = request({ host, port, path, method: "GET", agent }, (res) => {
          res.setEncoding("utf8");
          let body = "";
          res.on("data", (s: string) => {
            body += s;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          res.on("error", reject);
        });
        req.on("error", reject);
        req.end();
      });
    },
    close: async () => agent.destroy(),
  };
};
