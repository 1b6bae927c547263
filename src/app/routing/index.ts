// The router: Werkzeug's rule syntax and converters, a segment-trie matcher, URL building.

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
export { decodePath, percentEncode } from "./encoding.ts";
export {
  type AddOptions,
  BuildError,
  type BuildOptions,
  type MatchResult,
  Router,
  type RouterOptions,
  type Rule,
} from "./router.ts";
export { RuleSyntaxError } from "./rule.ts";
export type { ConverterTypes, ParamsOf } from "./types.ts";
