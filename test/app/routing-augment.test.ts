// Custom converters declare their parameter type by augmenting ConverterTypes through the entry
// point that re-exports it (users write `declare module "phial"`).

import assert from "node:assert/strict";
import { test } from "node:test";
import { type ParamsOf, patternConverter, Router } from "../../src/app/routing/index.ts";

declare module "../../src/app/routing/index.ts" {
  interface ConverterTypes {
    hex: bigint;
  }
}

type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
const typed: Equal<ParamsOf<"/h/<hex:n>">, { n: bigint }> = true;
// @ts-expect-error the augmented type is bigint, not string
const wrong: Equal<ParamsOf<"/h/<hex:n>">, { n: string }> = true;

test("an augmented converter type matches what the converter returns", () => {
  const r = new Router<null>();
  r.addConverter("hex", () =>
    patternConverter({
      pattern: /[0-9a-f]{1,32}/,
      parse: (s) => BigInt(`0x${s}`),
      format: (v) => (typeof v === "bigint" ? v.toString(16) : undefined),
    }),
  );
  r.add("/h/<hex:n>", { endpoint: "h", methods: ["GET"], data: null });
  const res = r.match("/h/ff", "GET", "");
  const params = (res as unknown as { params: ParamsOf<"/h/<hex:n>"> }).params;
  assert.equal(params.n, 255n);
  assert.equal(r.build("h", { n: 4096n }), "/h/1000");
  void [typed, wrong];
});
