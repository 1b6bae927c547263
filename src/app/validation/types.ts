// The types of schema-checked routes: which inputs a route declares, what `req.valid` then holds, and
// what its handler may return. Any Standard Schema validator works (zod 4, valibot, arktype, …).

import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { HTTPException } from "../wrappers/exceptions.ts";
import type { HeadersInit } from "../wrappers/headers.ts";
import type { Response, StatusInit } from "../wrappers/response.ts";

export type { StandardSchemaV1 };

/** Any Standard Schema (zod 4, valibot, arktype, …) turning `I` into `O`. */
export type Schema<I = unknown, O = I> = StandardSchemaV1<I, O>;

/** The inputs a route can check, each by a schema; `req.valid.<name>` holds the checked value. */
export const INPUTS = ["params", "query", "form", "json", "headers", "cookies"] as const;
export type InputName = (typeof INPUTS)[number];

/**
 * A route's schemas: `app.post("/items/<int:id>", { query: Q, json: Item, response: Out }, (req) => …)`.
 * Query, form, header and cookie values are strings: see docs/validation.md for how they are coerced.
 */
export interface RouteSchemas {
  /** The path parameters (after the rule's converters). */
  params?: StandardSchemaV1;
  /** The query string (`req.args`), as an object. */
  query?: StandardSchemaV1;
  /** An urlencoded or multipart form (`req.form`, files from `req.files`), as an object. */
  form?: StandardSchemaV1;
  /** The JSON body (`req.json`). */
  json?: StandardSchemaV1;
  /** The request's header fields, names lower-case. */
  headers?: StandardSchemaV1;
  /** The request's cookies. */
  cookies?: StandardSchemaV1;
  /**
   * The body of the success response: types the handler's return value; only the fields it declares are
   * sent (compiled serializer when the schema gives JSON Schema, else the validator's output).
   */
  response?: StandardSchemaV1;
}

/** What documents a route in the OpenAPI document. */
export interface RouteDocs {
  /** One line for the operation list. */
  summary?: string;
  /** Longer text (Markdown). */
  description?: string;
  /** Groups in the docs page; a blueprint's routes are tagged with its name too. */
  tags?: readonly string[];
  /** The operation's id; default: the endpoint. */
  operationId?: string;
  deprecated?: boolean;
  /** The status of the success response that `response` describes (default 200). */
  status?: number;
  /** Leave this route out of the OpenAPI document. */
  hidden?: boolean;
}

type Out<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<S> : never;

/** `req.valid` of a route: each declared input's checked (and converted) value. */
export type ValidOf<S> = {
  readonly [K in keyof S as K extends InputName ? (S[K] extends StandardSchemaV1 ? K : never) : never]: Out<
    S[K]
  >;
};

/** What a handler with a `response` schema may return: the body, a tuple around it, or a Response/error. */
export type TypedResult<T> = T extends readonly unknown[]
  ? T | Response | HTTPException
  :
      | T
      | readonly [T, StatusInit]
      | readonly [T, HeadersInit]
      | readonly [T, StatusInit, HeadersInit]
      // A handler taking `req` has its array literals typed as arrays, not tuples (TypeScript fixes the
      // lambda's types on the first overload it tries): its tuples are this. The run-time check of tuples
      // (length 2 or 3, body first) is the same as for every handler.
      | readonly (T | StatusInit | HeadersInit)[]
      | Response
      | HTTPException;
