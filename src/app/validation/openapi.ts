// The OpenAPI 3.1 document of an app, built from its rules (paths, methods, converters as path
// parameters, blueprints as tags, `summary`/`description`/`tags` options) and its routes' schemas
// (JSON Schema through Standard JSON Schema), and `serveOpenAPI`: the document at a path the app
// chooses and an interactive page (Swagger UI from the `swagger-ui-dist` package, served by the app
// itself: no CDN). The Phial class is used through its type only.

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { STATUS_TEXT } from "../../http/status.ts";
import type { Phial } from "../app.ts";
import { sendFile } from "../files/send-file.ts";
import type { ParsedRule, VariablePart } from "../routing/rule.ts";
import { NotFound } from "../wrappers/exceptions.ts";
import { escapeHtml } from "../wrappers/html.ts";
import type { Request } from "../wrappers/request.ts";
import { Response } from "../wrappers/response.ts";
import { type JsonSchema, type JsonSchemaConverter, jsonSchemaOf } from "./json-schema.ts";
import { MAX_LISTED_ISSUES } from "./problem.ts";
import { INPUTS, type RouteDocs, type RouteSchemas, type StandardSchemaV1 } from "./types.ts";

/** An OpenAPI 3.1 document (plain JSON data). */
export interface OpenAPIDocument {
  openapi: "3.1.0";
  info: { title: string; version: string; description?: string };
  servers?: { url: string; description?: string }[];
  paths: Record<string, Record<string, JsonSchema>>;
  components: { schemas: Record<string, JsonSchema> };
  tags?: { name: string; description?: string }[];
  [extension: `x-${string}`]: unknown;
}

export interface OpenAPIOptions {
  /** Default: the app's name. */
  title?: string;
  /** The API's version (default "0.1.0"). */
  version?: string;
  /** Markdown shown at the top of the docs page. */
  description?: string;
  servers?: { url: string; description?: string }[];
  /** JSON Schema for schemas without `~standard.jsonSchema` (e.g. a library's own converter). */
  jsonSchema?: JsonSchemaConverter;
  /** Which routes to document (default: all but `hidden` ones), e.g. `(r) => r.rule.startsWith("/api/")`. */
  include?: (route: { rule: string; endpoint: string; blueprint: string | undefined }) => boolean;
}

export interface ServeOpenAPIOptions extends OpenAPIOptions {
  /** Where the document is served (default `/openapi.json`). */
  path?: string;
  /** Where the interactive page is served (default `/docs`); false for none. */
  docs?: string | false;
}

// Kept on the app under a registry symbol, so that the CLI finds it even when the app was built with
// another copy of this module (an app's own node_modules/phial).
const OPTIONS = Symbol.for("phial.openapi.options");
const served = {
  get: (app: Phial) => (app as unknown as { [OPTIONS]?: ServeOpenAPIOptions })[OPTIONS],
  set: (app: Phial, o: ServeOpenAPIOptions) => {
    Object.defineProperty(app, OPTIONS, { value: o, configurable: true });
  },
};

/** What `serveOpenAPI` was given for this app (the CLI's `phial openapi` uses it). */
export function openAPIOptionsOf(app: Phial): ServeOpenAPIOptions | undefined {
  return served.get(app);
}

interface RouteInfo {
  blueprint: string | undefined;
  options: RouteSchemas & RouteDocs & { endpoint?: string; redirectTo?: unknown; buildOnly?: boolean };
  /** A class-based view's schemas and docs by upper-case method. */
  methodOptions?: Readonly<Record<string, RouteSchemas & RouteDocs>>;
}

const PROBLEM_SCHEMA: JsonSchema = {
  type: "object",
  description: "RFC 9457 problem details: the request did not match the route's schemas.",
  properties: {
    type: { type: "string" },
    title: { type: "string" },
    status: { type: "integer", const: 422 },
    detail: { type: "string" },
    errors: {
      type: "array",
      maxItems: MAX_LISTED_ISSUES,
      items: {
        type: "object",
        properties: {
          location: { type: "string", examples: ["json.items[2].name"] },
          in: { type: "string", enum: [...INPUTS] },
          path: { type: "array", items: { type: ["string", "integer"] } },
          message: { type: "string" },
          code: { type: "string" },
        },
        required: ["location", "in", "path", "message", "code"],
      },
    },
  },
  required: ["type", "title", "status", "detail", "errors"],
};

/** The app's OpenAPI 3.1 document, from its rules and schemas as registered now. */
export function openapiDocument(
  app: Phial,
  options: OpenAPIOptions = served.get(app) ?? {},
): OpenAPIDocument {
  const components: Record<string, JsonSchema> = {};
  const conv = (s: StandardSchemaV1 | undefined, io: "input" | "output"): JsonSchema | undefined =>
    s === undefined ? undefined : hoist(jsonSchemaOf(s, io, options.jsonSchema) ?? {}, components);
  const paths: OpenAPIDocument["paths"] = {};
  const tags = new Set<string>();
  const ids = new Set<string>();
  let problemUsed = false;
  for (const rule of app.router.rules) {
    const data = rule.data as unknown as RouteInfo;
    const base = data.options;
    if (base.hidden === true || base.buildOnly === true || base.redirectTo !== undefined) continue;
    if (rule.endpoint === "static" || rule.endpoint.endsWith(".static")) continue;
    if (
      options.include !== undefined &&
      !options.include({ rule: rule.rule, endpoint: rule.endpoint, blueprint: data.blueprint })
    )
      continue;
    const parsed = (rule as unknown as { parsed: ParsedRule }).parsed;
    let path = "";
    const pathParams: VariablePart[] = [];
    for (const seg of parsed.segments) {
      path += "/";
      for (const p of seg.pieces) {
        if (typeof p === "string") path += p;
        else {
          path += `{${p.name}}`;
          pathParams.push(p);
        }
      }
    }
    const methods = [...rule.methods].filter(
      (m) => m !== "OPTIONS" && !(m === "HEAD" && rule.methods.has("GET")),
    );
    const item: Record<string, JsonSchema> = paths[path] ?? {};
    paths[path] = item;
    for (const method of methods) {
      const key = method.toLowerCase();
      if (item[key] !== undefined) continue; // the first rule for a path and method is the one matched
      const own = data.methodOptions?.[method];
      const o = own === undefined ? base : { ...base, ...own };
      if (o.hidden === true) continue;
      const op: JsonSchema = {};
      const opTags = [...(o.tags ?? [])];
      if (data.blueprint !== undefined) opTags.push(data.blueprint);
      for (const t of opTags) tags.add(t);
      if (opTags.length > 0) op.tags = opTags;
      if (o.summary !== undefined) op.summary = o.summary;
      if (o.description !== undefined) op.description = o.description;
      let id = o.operationId ?? rule.endpoint;
      if (methods.length > 1 && own?.operationId === undefined) id = `${id}_${key}`;
      for (let i = 2; ids.has(id); i++) id = `${o.operationId ?? rule.endpoint}_${i}`;
      ids.add(id);
      op.operationId = id;
      if (o.deprecated === true) op.deprecated = true;

      const parameters: JsonSchema[] = [];
      const paramsSchema = conv(o.params, "input");
      for (const p of pathParams) {
        const declared = (paramsSchema?.properties as Record<string, JsonSchema> | undefined)?.[p.name];
        parameters.push({ name: p.name, in: "path", required: true, schema: declared ?? converterSchema(p) });
      }
      for (const [input, where] of [
        ["query", "query"],
        ["headers", "header"],
        ["cookies", "cookie"],
      ] as const) {
        const s = conv(o[input], "input");
        if (s === undefined) continue;
        const props = (s.properties ?? {}) as Record<string, JsonSchema>;
        const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
        for (const [name, sub] of Object.entries(props)) {
          const param: JsonSchema = { name, in: where, schema: sub };
          if (required.has(name)) param.required = true;
          if (typeof sub.description === "string") param.description = sub.description;
          parameters.push(param);
        }
      }
      if (parameters.length > 0) op.parameters = parameters;

      const json = conv(o.json, "input");
      const form = conv(o.form, "input");
      if (json !== undefined || form !== undefined) {
        const content: JsonSchema = {};
        if (json !== undefined) content["application/json"] = { schema: json };
        if (form !== undefined) {
          content["application/x-www-form-urlencoded"] = { schema: form };
          content["multipart/form-data"] = { schema: form };
        }
        op.requestBody = { required: true, content };
      }

      const status = String(o.status ?? 200);
      const ok: JsonSchema = { description: STATUS_TEXT[Number(status)] ?? "Success" };
      const out = conv(o.response, "output");
      if (out !== undefined) ok.content = { "application/json": { schema: out } };
      const responses: JsonSchema = { [status]: ok };
      if (INPUTS.some((k) => o[k] !== undefined)) {
        problemUsed = true;
        responses["422"] = {
          description: "The request does not match the route's schemas",
          content: {
            "application/problem+json": { schema: { $ref: "#/components/schemas/ValidationProblem" } },
          },
        };
      }
      op.responses = responses;
      item[key] = op;
    }
    if (Object.keys(item).length === 0) delete paths[path];
  }
  if (problemUsed) components.ValidationProblem = PROBLEM_SCHEMA;
  const info: OpenAPIDocument["info"] = {
    title: options.title ?? app.name,
    version: options.version ?? "0.1.0",
  };
  if (options.description !== undefined) info.description = options.description;
  const doc: OpenAPIDocument = { openapi: "3.1.0", info, paths, components: { schemas: components } };
  if (options.servers !== undefined) doc.servers = options.servers;
  if (tags.size > 0) doc.tags = [...tags].sort().map((name) => ({ name }));
  return doc;
}

/** The JSON Schema a converter gives a path parameter. */
function converterSchema(p: VariablePart): JsonSchema {
  switch (p.converterName) {
    case "int":
      return { type: "integer" };
    case "float":
      return { type: "number" };
    case "uuid":
      return { type: "string", format: "uuid" };
    default:
      return { type: "string" };
  }
}

/**
 * A schema's own `$defs` (zod writes them for recursive or registered schemas) moved to the document's
 * components, with their `$ref`s pointed there: a `#/$defs/…` ref would resolve against the document.
 */
function hoist(s: JsonSchema, components: Record<string, JsonSchema>): JsonSchema {
  const defs = s.$defs as Record<string, JsonSchema> | undefined;
  if (defs === undefined) return s;
  const { $defs: _d, ...rest } = s;
  const rename = new Map<string, string>();
  for (const name of Object.keys(defs)) {
    let n = name.replace(/[^A-Za-z0-9._-]/g, "_");
    for (let i = 2; components[n] !== undefined; i++) n = `${name}_${i}`;
    rename.set(name, n);
    components[n] = {};
  }
  const fix = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(fix);
    if (v === null || typeof v !== "object") return v;
    const out: JsonSchema = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === "$ref" && typeof x === "string" && x.startsWith("#/$defs/")) {
        out[k] = `#/components/schemas/${rename.get(x.slice(8)) ?? x.slice(8)}`;
      } else if (k === "$ref" && x === "#") {
        out[k] = x; // a self-reference of the root: left as is
      } else out[k] = fix(x);
    }
    return out;
  };
  for (const [name, def] of Object.entries(defs)) components[rename.get(name)!] = fix(def) as JsonSchema;
  return fix(rest) as JsonSchema;
}

/** The folder of the swagger-ui-dist package, as the app's folder (or Phial's) resolves it. */
function swaggerFolder(app: Phial): string {
  for (const base of [join(app.root, "noop.js"), import.meta.url]) {
    try {
      const req = createRequire(base);
      const dir = (req("swagger-ui-dist") as { getAbsoluteFSPath(): string }).getAbsoluteFSPath();
      if (existsSync(join(dir, "swagger-ui-bundle.js"))) return dir;
    } catch {
      // not found from here: try the next base
    }
  }
  throw new Error(
    "serveOpenAPI(): the docs page needs the swagger-ui-dist package (served from your app, no CDN): " +
      "run `npm install swagger-ui-dist`, or pass `docs: false` to serve only the document",
  );
}

const ASSETS = new Set(["swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png"]);

const INIT_JS = `window.addEventListener("load", function () {
  var el = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({ url: el.getAttribute("data-url"), domNode: el, deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout", tryItOutEnabled: true });
});
`;

/**
 * Serves the app's OpenAPI document (`/openapi.json`) and an interactive page (`/docs`, Swagger UI
 * from the swagger-ui-dist package, its files served by the app). The document is built on the first
 * request and rebuilt when routes were added since.
 */
export function serveOpenAPI(app: Phial, options: ServeOpenAPIOptions = {}): void {
  const path = options.path ?? "/openapi.json";
  const docs = options.docs === undefined ? "/docs" : options.docs;
  const folder = docs === false ? undefined : swaggerFolder(app);
  served.set(app, options);
  // Built when first asked for, and again whenever the route table has grown since (rules are only
  // ever added: their count is the table's version), so routes registered later are listed too.
  let text: string | undefined;
  let builtFor = -1;
  app.get(path, { endpoint: "openapi_document", hidden: true }, function openapi_document() {
    const version = app.router.rules.length;
    if (text === undefined || builtFor !== version) {
      text = JSON.stringify(openapiDocument(app, options));
      builtFor = version;
    }
    return new Response(text, { contentType: "application/json" });
  });
  if (docs === false || folder === undefined) return;
  const base = docs.endsWith("/") ? docs.slice(0, -1) : docs;
  app.get(docs, { endpoint: "openapi_docs", hidden: true }, function openapi_docs(req: Request) {
    const root = req.scriptRoot;
    const title = escapeHtml(options.title ?? app.name);
    const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} — API docs</title>
<link rel="stylesheet" href="${escapeHtml(`${root}${base}/swagger-ui.css`)}">
<link rel="icon" type="image/png" href="${escapeHtml(`${root}${base}/favicon-32x32.png`)}">
</head>
<body>
<div id="swagger-ui" data-url="${escapeHtml(root + path)}"></div>
<script src="${escapeHtml(`${root}${base}/swagger-ui-bundle.js`)}"></script>
<script src="${escapeHtml(`${root}${base}/init.js`)}"></script>
</body>
</html>
`;
    return new Response(html, { contentType: "text/html; charset=utf-8" });
  });
  app.get(
    `${base}/<asset>`,
    { endpoint: "openapi_asset", hidden: true },
    function openapi_asset(req: Request<{ asset: string }>) {
      const name = req.params.asset;
      if (name === "init.js") {
        const res = new Response(INIT_JS, { contentType: "text/javascript; charset=utf-8" });
        res.headers.set("Cache-Control", "no-cache");
        return res;
      }
      if (!ASSETS.has(name)) throw new NotFound();
      return sendFile(join(folder, name), { maxAge: 3600 });
    },
  );
}
