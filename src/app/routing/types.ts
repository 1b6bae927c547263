// Route parameters inferred from the rule string, at the type level: `ParamsOf<"/user/<int:id>">` is
// `{ id: number }`. Kept to a few non-distributive template-literal steps per parameter so that an app
// with hundreds of routes type-checks quickly (LESSONS 21): nothing accumulates across routes.

/**
 * What each converter gives a handler. Custom converters can declare their type by augmentation:
 *
 * ```ts
 * declare module "phial" {
 *   interface ConverterTypes { hex: bigint }
 * }
 * ```
 * A converter missing here is typed `unknown`.
 */
export interface ConverterTypes {
  default: string;
  string: string;
  int: number;
  float: number;
  path: string;
  uuid: string;
  any: string;
}

type Trim<S extends string> = S extends ` ${infer R}` ? Trim<R> : S extends `${infer L} ` ? Trim<L> : S;

type Unquote<S extends string> = S extends `"${infer V}"` ? V : S extends `'${infer V}'` ? V : S;

/** `any(a, b, c)` → `"a" | "b" | "c"`. */
type Choices<S extends string> = S extends `${infer A},${infer B}`
  ? Unquote<Trim<A>> | Choices<B>
  : Unquote<Trim<S>>;

type TypeOfConverter<C extends string> = C extends keyof ConverterTypes ? ConverterTypes[C] : unknown;

/** The type of one `<converter(args):name>` converter part. */
type ConverterPart<C extends string> = C extends `${infer Base}(${infer Args})`
  ? Trim<Base> extends "any"
    ? string extends Choices<Args>
      ? string
      : Choices<Args>
    : TypeOfConverter<Trim<Base>>
  : TypeOfConverter<Trim<C>>;

/** `int:id` → `{ id: number }`, `id` → `{ id: string }`. */
type Variable<V extends string> = V extends `${infer C}:${infer N}`
  ? { [K in Trim<N>]: ConverterPart<C> }
  : { [K in Trim<V>]: string };

type Collect<R extends string, Acc> = R extends `${string}<${infer V}>${infer Rest}`
  ? Collect<Rest, Acc & Variable<V>>
  : Acc;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/**
 * The parameters of a rule: `ParamsOf<"/user/<int:id>/<any(a, b):tab>">` is `{ id: number; tab: "a" | "b" }`.
 * A rule without parameters gives `{}`; a non-literal `string` gives `Record<string, unknown>`.
 */
export type ParamsOf<R extends string> = string extends R
  ? Record<string, unknown>
  : Simplify<Collect<R, {}>>;
