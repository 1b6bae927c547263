// The rows of the report. A row whose file is missing is skipped (and named in the report), so the
// phial framework and phial/client rows appear as soon as their files are dropped in.

export type RowKind = "phial" | "floor" | "peer" | "ceiling";

export interface ServerRow {
  id: string;
  label: string;
  /** Path relative to bench/. */
  file: string;
  kind: RowKind;
}

export const SERVER_ROWS: readonly ServerRow[] = [
  { id: "phial-wire", label: "phial wire", file: "servers/phial-wire.ts", kind: "phial" },
  { id: "phial-framework", label: "phial framework", file: "servers/phial-framework.ts", kind: "phial" },
  { id: "node-http", label: "node:http", file: "servers/node-http.ts", kind: "floor" },
  { id: "fastify", label: "fastify", file: "servers/fastify.ts", kind: "peer" },
  { id: "express", label: "express", file: "servers/express.ts", kind: "peer" },
  { id: "hono", label: "hono", file: "servers/hono.ts", kind: "peer" },
  { id: "koa", label: "koa", file: "servers/koa.ts", kind: "peer" },
  { id: "nginx", label: "nginx (static only)", file: "servers/nginx.ts", kind: "peer" },
  { id: "jinja2", label: "Jinja2 (Python, template only)", file: "servers/jinja2.ts", kind: "peer" },
  { id: "net-canned", label: "node:net canned (ceiling)", file: "servers/net-canned.ts", kind: "ceiling" },
];

export const FLOOR = "node-http";
export const CEILING = "net-canned";

export interface ClientRow {
  id: string;
  label: string;
  file: string;
  kind: "phial" | "peer";
}

export const CLIENT_ROWS: readonly ClientRow[] = [
  { id: "phial-client", label: "phial/client", file: "clients/phial-client.ts", kind: "phial" },
  { id: "undici-pool", label: "undici request + Pool", file: "clients/undici-pool.ts", kind: "peer" },
  { id: "fetch", label: "fetch (Node's undici)", file: "clients/fetch.ts", kind: "peer" },
  {
    id: "node-http-agent",
    label: "node:http + keep-alive Agent",
    file: "clients/node-http-agent.ts",
    kind: "peer",
  },
];

/** Server rows measured for memory per idle connection. */
export const MEMORY_ROWS: readonly string[] = ["phial-wire", "phial-framework", "node-http"];
