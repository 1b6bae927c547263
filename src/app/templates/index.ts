// Templates: the Jinja-syntax engine on Nunjucks with Flask's autoescaping and helpers (environment.ts,
// which imports nothing of the app; compiler.ts, the faster code it compiles templates to), and its binding to an app (app-templates.ts): the template folders
// of the app and its blueprints, `request`/`session`/`g`/`urlFor`/`getFlashedMessages` in every
// template, and the `renderTemplate` functions.
//
// May import the wrappers, the request context and sessions (for flashed messages); `Phial` as a type.

export { getTemplateAttribute, renderTemplate, renderTemplateString } from "./app-templates.ts";
export {
  htmlSafeJson,
  markSafe,
  type SafeString,
  selectAutoescape,
  type TemplateContext,
  TemplateEnvironment,
  TemplateNotFound,
} from "./environment.ts";
