// Type tests for ParamsOf: tsc runs over test/ in `npm test`, so a wrong inference fails the build, and
// every `@ts-expect-error` below must hit an error (an unused one is itself an error).

import assert from "node:assert/strict";
import { test } from "node:test";
import { type ParamsOf, Router } from "../../src/app/routing/index.ts";

type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_: T): void {}

expectType<Equal<ParamsOf<"/user/<int:id>">, { id: number }>>(true);
expectType<Equal<ParamsOf<"/p/<float:x>">, { x: number }>>(true);
expectType<Equal<ParamsOf<"/p/<name>">, { name: string }>>(true);
expectType<Equal<ParamsOf<"/p/<string(length=3):code>">, { code: string }>>(true);
expectType<Equal<ParamsOf<"/p/<path:rest>">, { rest: string }>>(true);
expectType<Equal<ParamsOf<"/p/<uuid:id>">, { id: string }>>(true);
expectType<
  Equal<ParamsOf<"/p/<int(signed=True):n>/<int(fixed_digits=4, max=9999):y>">, { n: number; y: number }>
>(true);
expectType<Equal<ParamsOf<"/t/<any(a, b, 'c d'):tab>">, { tab: "a" | "b" | "c d" }>>(true);
expectType<Equal<ParamsOf<"/d/<int:y>-<int:m>/<slug>.html">, { y: number; m: number; slug: string }>>(true);
expectType<Equal<ParamsOf<"/">, {}>>(true);
expectType<Equal<ParamsOf<"/about/">, {}>>(true);
expectType<Equal<ParamsOf<"/c/<custom:x>">, { x: unknown }>>(true);
expectType<Equal<ParamsOf<string>, Record<string, unknown>>>(true);

// Wrong inferences must not compile.
// @ts-expect-error int is a number, not a string
expectType<Equal<ParamsOf<"/user/<int:id>">, { id: string }>>(true);
// @ts-expect-error the default converter is a string
expectType<Equal<ParamsOf<"/user/<id>">, { id: number }>>(true);
// @ts-expect-error any() is the union of its choices
expectType<Equal<ParamsOf<"/t/<any(a, b):tab>">, { tab: string }>>(true);
// @ts-expect-error no params means no keys
expectType<Equal<ParamsOf<"/static/x">, { x: string }>>(true);

// Assignments, as a handler would see them.
const p: ParamsOf<"/user/<int:id>/<any(posts, likes):tab>"> = { id: 1, tab: "posts" };
const id: number = p.id;
// @ts-expect-error tab is "posts" | "likes"
const badTab: ParamsOf<"/user/<int:id>/<any(posts, likes):tab>"> = { id: 1, tab: "other" };
// @ts-expect-error id is a number
const badId: ParamsOf<"/user/<int:id>"> = { id: "1" };
// @ts-expect-error a rule without params has no `id`
const none: number = ({} as ParamsOf<"/about">).id;
void [id, badTab, badId, none];

test("run-time params agree with their inferred types", () => {
  const r = new Router<null>();
  const rule = "/user/<int:id>/<any(posts, likes):tab>/<float:score>";
  r.add(rule, { endpoint: "u", methods: ["GET"], data: null });
  const res = r.match("/user/7/likes/1.5", "GET", "");
  assert.equal(res.kind, "match");
  const params = (res as unknown as { params: ParamsOf<typeof rule> }).params;
  assert.deepEqual(params, { id: 7, tab: "likes", score: 1.5 });
  assert.equal(typeof params.id, "number");
  assert.equal(typeof params.score, "number");
});
