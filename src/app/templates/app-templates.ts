// The app's side of templates: `app.templates` (folders of the app and its blueprints, reload in
// debug), the values every template sees, and the `renderTemplate` / `renderTemplateString` globals.

import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Phial } from "../app.ts";
import { currentRequest, invoke } from "../context.ts";
import { cspNonce, csrfToken } from "../protections/index.ts";
import { flashesOf } from "../sessions/app-sessions.ts";
import { type FlashedOptions, sessionView } from "../sessions/secure-cookie.ts";
import type { Request } from "../wrappers/request.ts";
import { splitKeywords, type TemplateContext, TemplateEnvironment } from "./environment.ts";

/**
 * The template folders of an app: its own, then each blueprint's in registration order (so the app
 * can override a blueprint's template). A blueprint's relative `templateFolder` resolves against its
 * `root` (`import.meta.url` or a directory), else against the app's folder.
 */
export function templateFolders(app: Phial): string[] {
  const out = [app.templateFolder];
  for (const bp of app.blueprints.values()) {
    const tf = bp.options.templateFolder;
    if (tf === undefined) continue;
    const root = bp.options.root;
    const base =
      root === undefined ? app.root : root.startsWith("file:") ? dirname(fileURLToPath(root)) : resolve(root);
    const folder = isAbsolute(tf) ? tf : resolve(base, tf);
    if (!out.includes(folder)) out.push(folder);
  }
  return out;
}

/** The template environment of an app (what `app.templates` returns). */
export function createTemplates(app: Phial): TemplateEnvironment {
  const t = new TemplateEnvironment({
    searchPath: () => templateFolders(app),
    autoReload: () => app.config.templatesAutoReload ?? app.config.debug,
  });
  t.contextProcessor(() => requestValues(app, currentRequest()));
  return t;
}

/**
 * What every template sees: `request`, `session`, `g`, `config`, `urlFor` and `getFlashedMessages`
 * (plus Flask's spellings `url_for`, `get_flashed_messages`, for ported templates). The functions are
 * bound to the request being rendered. `session` reads keys as properties and is only opened when
 * a template uses it.
 */
function requestValues(app: Phial, req: Request | undefined): TemplateContext {
  const urlFor = (...args: unknown[]): string => {
    const [pos, kw] = splitKeywords(args);
    const endpoint = String(pos[0]);
    const values = { ...(pos[1] as Record<string, unknown> | undefined), ...kw };
    return req === undefined
      ? app.urlFor(endpoint, values)
      : invoke(req, false, callUrlFor, app, [endpoint, values]);
  };
  const flashes = (...args: unknown[]) => {
    if (req === undefined) return [];
    const [pos, kw] = splitKeywords(args);
    return flashesOf(req, flashOptions({ ...(pos[0] as Record<string, unknown> | undefined), ...kw }));
  };
  return {
    request: req,
    session: req === undefined ? undefined : sessionView(() => req.session),
    g: req?.g,
    config: app.config,
    urlFor,
    url_for: urlFor,
    getFlashedMessages: flashes,
    get_flashed_messages: flashes,
    // The session's CSRF token for forms (Flask-WTF's `csrf_token()` too), the response's CSP nonce.
    csrfToken: csrfOf,
    csrf_token: csrfOf,
    cspNonce: nonceOf,
  };
  function csrfOf(): string {
    if (req === undefined) throw new Error("csrfToken() in a template rendered outside a request");
    return csrfToken(req);
  }
  function nonceOf(): string {
    if (req === undefined) throw new Error("cspNonce() in a template rendered outside a request");
    return cspNonce(req);
  }
}

function callUrlFor(app: Phial, [endpoint, values]: [string, Record<string, unknown>]): string {
  return app.urlFor(endpoint, values);
}

/** Accepts `withCategories`/`with_categories` and `categoryFilter`/`category_filter`. */
function flashOptions(o: Record<string, unknown>): FlashedOptions {
  const withCategories = o.withCategories ?? o.with_categories;
  const filter = o.categoryFilter ?? o.category_filter;
  const out: FlashedOptions = {};
  if (withCategories === true) out.withCategories = true;
  if (Array.isArray(filter)) out.categoryFilter = filter.map(String);
  return out;
}

function need(what: string): Request {
  const req = currentRequest();
  if (req === undefined) {
    throw new Error(
      `${what}() is only available while a request is handled; outside a request, call ` +
        `app.${what}(...) on your app.`,
    );
  }
  return req;
}

/**
 * Renders a template from the app's (and its blueprints') `templates/` folders. `.html`, `.htm`,
 * `.xml`, `.svg` templates are autoescaped. Resolves to the text; return it from a handler.
 */
export function renderTemplate(name: string | readonly string[], context?: TemplateContext): Promise<string> {
  return need("renderTemplate").app.renderTemplate(name, context);
}

/** Renders template source (autoescaped). Never pass source that came from a user. */
/**
 * A macro or top-level variable of a template (Flask's `get_template_attribute`): render a macro from
 * code, e.g. for a JSON answer that carries HTML.
 *
 * ```ts
 * const hello = await getTemplateAttribute("_macros.html", "hello");
 * hello("ada"); // the macro's output
 * ```
 */
export function getTemplateAttribute(name: string, attribute: string): Promise<unknown> {
  return need("getTemplateAttribute").app.templates.getAttribute(name, attribute);
}

export function renderTemplateString(source: string, context?: TemplateContext): Promise<string> {
  return need("renderTemplateString").app.renderTemplateString(source, context);
}
