// The router: Werkzeug's rule syntax and converters, a segment-trie matcher, URL building.
//
// Lowest layer of src/app: it may import nothing of the project (not even the wrappers). The app and
// the dispatch pipeline import it through this index.
//
// Semantics, decided here (Werkzeug's unless said otherwise):
// - Input is the decoded path (`req.path`, decoded once, UTF-8); the router never decodes again. `%2F`
//   is therefore a `/` (as in Werkzeug, which decodes before matching). Building refuses a `/` in a
//   one-segment value (BuildError pointing to `<path:...>`) instead of writing a URL that would match
//   another rule. `decodePath(raw)` is the decoder, returning undefined (→ 400) for bad escapes/UTF-8.
// - Rules: `<name>`, `<conv:name>`, `<conv(args):name>`; args like Python's (`length=3`, `signed=True`,
//   `any(a, 'b c')`). Several converters in one segment need static text between them and split at
//   the first occurrence of each separator (`<name>.<ext>`: `a.tar.gz` → `a` + `tar.gz`; a regex would
//   take the last). A slash-spanning converter (`path`) is alone in its segment (static prefix/suffix
//   allowed); with two in a rule the first takes the shortest span that lets the rest match
//   (Werkzeug's non-greedy `.*?`), within 1,024 span attempts per request. Converters never match an
//   empty string. `//` in a rule is an error.
// - Priority: at each segment the static text first, then converters by weight (more static text in
//   the segment, then int/float 50, string/uuid/any 100, path 200), backtracking on failure. Among
//   path converters at one position, Werkzeug's weighting of the rest of the rule decides
//   (`/<path:a>/edit` before `/<path:a>`). Werkzeug would also put `/<path:a>/edit` before
//   `/<name>/edit`; here one-segment converters always go first.
// - Slashes: a rule ending in `/` redirects the path without it (308, query kept); a leaf rule is
//   exact under strictSlashes; strictSlashes=false matches both forms. With mergeSlashes (default),
//   a path containing `//` redirects to its merged form when that matches (Werkzeug first tries the
//   path as is: only a `path` value containing `//` differs). Unlike Werkzeug, given the raw path
//   only the `//` the client wrote are merged (`%2F` decodes to `/` but is never merged), a Location
//   keeps the escapes as sent, and no merged path with a `.`/`..` segment is a redirect target: a
//   redirect never turns escaped bytes into path syntax a client would resolve (`/static/%2f..%2fx`
//   is matched as is, never sent to `/x`).
// - Methods: GET implies HEAD (an explicit HEAD rule at the same path wins); OPTIONS matches any rule
//   at the path (the app answers it unless OPTIONS is among `rule.methods`), `automaticOptions: false`
//   turns that off per rule; 405 lists the methods of every rule at the path, sorted.
// - Defaults: a rule's defaults fill params (never overriding URL values); when a URL matches a rule
//   whose values equal another rule's defaults for the same endpoint (`/page/1` vs `/page/` with
//   `{page: 1}`), it redirects there (`redirectDefaults`, default true).
// - `redirectTo` (template or function) makes a rule redirect when matched (no query kept, as in
//   Werkzeug); `buildOnly` rules are only built, never matched.
// - Domains (`domainMatching`): Werkzeug's host and subdomain matching. Each rule has a domain pattern
//   (`""` when none), one segment of static text and converters; `matchDomain(domain, path, …)` tries the
//   rules of a static domain equal to `domain` first, then the variable ones by weight; the domain's
//   values come first in the params. The caller computes the domain (domain.ts). Without domain
//   matching `match` is the only path and no branch is looked up.
// - Building: Werkzeug's rule order (more arguments, then more defaults), GET first when no method is
//   given; a value a converter refuses makes the rule unsuitable; unknown values become the query
//   (arrays repeat, `null`/`undefined` dropped).

export { BuildError, type BuildOptions, type DomainBuildOptions } from "./build.ts";
export {
  type Converter,
  type ConverterArg,
  type ConverterArgs,
  type ConverterFactory,
  decimalText,
  type PatternConverterOptions,
  parseConverterArgs,
  patternConverter,
} from "./converters.ts";
export { isHostText, normalHost, subdomainOf } from "./domain.ts";
export { decodePath, percentEncode } from "./encoding.ts";
export type { AddOptions, Rule } from "./entry.ts";
export { type MatchResult, Router, type RouterOptions } from "./router.ts";
export { RuleSyntaxError } from "./rule.ts";
export type { ConverterTypes, ParamsOf } from "./types.ts";
