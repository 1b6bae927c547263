// The global `urlFor`, for Flask-style code: the app of the current request (or the only app).
// Typed where the app says so: declare endpoints once and urlFor checks their parameters.
//
//   declare module "phial" {
//     interface Endpoints { profile: "/user/<int:id>"; index: "/" }
//   }
//   urlFor("profile", { id: 3 });   // ok
//   urlFor("profile");              // type error: id is missing
//   urlFor("profile", { id: "x" }); // type error: id is a number

import { currentApp } from "./context.ts";
import type { ParamsOf } from "./routing/index.ts";

/** Endpoint names → rule strings, for typed `urlFor`. Empty unless an app augments it. */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging in apps
export interface Endpoints {}

/** Flask's special keys; any other key becomes the query string. */
export interface UrlForExtras {
  /** An absolute URL (`scheme://host/...`): the request's host, or `config.serverName` outside one. */
  _external?: boolean;
  /** Appended as `#anchor`. */
  _anchor?: string;
  /** Pick the rule that accepts this method. */
  _method?: string;
  /** The scheme of an external URL (implies `_external`). */
  _scheme?: string;
  readonly [query: string]: unknown;
}

/** The values `urlFor(endpoint, …)` takes: typed parameters for declared endpoints. */
export type UrlForValues<E extends string> = E extends keyof Endpoints
  ? Endpoints[E] extends string
    ? ParamsOf<Endpoints[E]> & UrlForExtras
    : UrlForExtras
  : UrlForExtras;

/** `[values]` when the endpoint has required parameters, else `[values?]`. */
export type UrlForArgs<E extends string> =
  {} extends UrlForValues<E> ? [values?: UrlForValues<E>] : [values: UrlForValues<E>];

/**
 * `urlFor("profile", { id: 3 })` → `/user/3`. Extra keys become the query string; `_external`,
 * `_anchor`, `_method` and `_scheme` as in Flask. Works inside and outside a request.
 * Throws `BuildError` for an unknown endpoint or a missing parameter.
 */
export function urlFor<E extends string>(endpoint: E, ...args: UrlForArgs<E>): string {
  const app = currentApp();
  if (app === undefined) {
    throw new Error(
      `urlFor("${endpoint}"): no Phial app exists yet; create the app first or call app.urlFor()`,
    );
  }
  return app.urlFor(endpoint, ...args);
}
