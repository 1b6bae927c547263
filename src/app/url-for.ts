// The global `urlFor`, for Flask-style code: the app of the current request (or the only app).

import { currentApp } from "./app.ts";

/**
 * `urlFor("profile", { id: 3 })` → `/user/3`. Extra keys become the query string; `_external`,
 * `_anchor`, `_method` and `_scheme` as in Flask. Works inside and outside a request.
 */
export function urlFor(endpoint: string, values: Readonly<Record<string, unknown>> = {}): string {
  const app = currentApp();
  if (app === undefined) {
    throw new Error(
      `urlFor("${endpoint}"): no Phial app exists yet; create the app first or call app.urlFor()`,
    );
  }
  return app.urlFor(endpoint, values);
}
