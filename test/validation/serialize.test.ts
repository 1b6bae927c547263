// The compiled serializer on the schemas it used to leave to the validator ($ref, unions, open maps,
// tuples), checked against zod itself: for many seeded random schemas and values (with fields the
// schema doesn't declare), its text must be JSON.stringify of what zod's parse outputs: the same
// fields kept and dropped, the same order, the same escapes.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compileSerializer } from "phial";
import { z } from "zod";

/** mulberry32: a small seeded generator, so that a failure can be replayed from its seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}
type R = ReturnType<typeof rng>;

const STRINGS = [
  "",
  "a",
  "héllo",
  'q"uote',
  "back\\slash",
  "line\nbreak",
  "\u0000\u001f",
  "\u2028",
  "😀",
  "\ud800",
  "x".repeat(80),
  "</script>",
];
const KEYS = ["a", "b", "name", "id", "x y", 'k"q', "__proto__x", "1", "10", "é"];

/** A zod schema and a generator of values it accepts. */
interface Gen {
  schema: z.ZodType;
  value: (r: R) => unknown;
}

function leaf(r: R): Gen {
  switch (r.int(8)) {
    case 0:
      return { schema: z.string(), value: (r) => r.pick(STRINGS) };
    case 1:
      return {
        schema: z.number(),
        value: (r) => r.pick([0, -0, 1.5, -2e-7, 1e21, 123456789.125, Number.MAX_VALUE]),
      };
    case 2:
      return { schema: z.number().int(), value: (r) => r.int(2001) - 1000 };
    case 3:
      return { schema: z.boolean(), value: (r) => r.next() < 0.5 };
    case 4:
      return { schema: z.null(), value: () => null };
    case 5:
      return { schema: z.enum(["red", "green", "blue"]), value: (r) => r.pick(["red", "green", "blue"]) };
    case 6:
      return { schema: z.literal("fixed"), value: () => "fixed" };
    default:
      return { schema: z.unknown(), value: (r) => r.pick([1, "s", null, { deep: [1, { y: "z" }] }, [true]]) };
  }
}

/** Junk fields a handler might leave on a row: never in the schema, so never in zod's output. */
function junk(r: R, o: Record<string, unknown>): Record<string, unknown> {
  if (r.next() < 0.6) o.passwordHash = "$scrypt$secret";
  if (r.next() < 0.3) o.internal = { token: "secret" };
  return o;
}

function gen(r: R, depth: number): Gen {
  if (depth >= 3) return leaf(r);
  switch (r.int(9)) {
    case 0: {
      const g = gen(r, depth + 1);
      return { schema: z.array(g.schema), value: (r) => Array.from({ length: r.int(4) }, () => g.value(r)) };
    }
    case 1: {
      const g = gen(r, depth + 1);
      return { schema: g.schema.nullable(), value: (r) => (r.next() < 0.3 ? null : g.value(r)) };
    }
    case 2:
    case 3: {
      // A closed object: optional fields sometimes missing, extra fields dropped.
      const n = 1 + r.int(4);
      const fields: [string, Gen, boolean][] = [];
      const used = new Set<string>();
      for (let i = 0; i < n; i++) {
        const k = r.pick(KEYS);
        if (used.has(k)) continue;
        used.add(k);
        fields.push([k, gen(r, depth + 1), r.next() < 0.3]);
      }
      const shape: Record<string, z.ZodType> = {};
      for (const [k, g, opt] of fields) shape[k] = opt ? g.schema.optional() : g.schema;
      const loose = r.next() < 0.2;
      const schema = loose ? z.looseObject(shape) : z.object(shape);
      return {
        schema,
        value: (r) => {
          const o: Record<string, unknown> = {};
          for (const [k, g, opt] of fields) if (!opt || r.next() < 0.5) o[k] = g.value(r);
          if (!loose) return junk(r, o);
          o.extraKept = "kept: a loose object passes its other fields";
          return o;
        },
      };
    }
    case 4: {
      // An open map: every key written by the value schema.
      const g = gen(r, depth + 1);
      return {
        schema: z.record(z.string(), g.schema),
        value: (r) => {
          const o: Record<string, unknown> = {};
          for (let i = r.int(4); i > 0; i--) o[r.pick(KEYS)] = g.value(r);
          return o;
        },
      };
    }
    case 5: {
      // Keys limited to an enum: other keys dropped.
      const g = gen(r, depth + 1);
      return {
        schema: z.partialRecord(z.enum(["x", "y"]), g.schema),
        value: (r) => {
          const o: Record<string, unknown> = {};
          if (r.next() < 0.7) o.x = g.value(r);
          if (r.next() < 0.7) o.y = g.value(r);
          return o;
        },
      };
    }
    case 6: {
      // A discriminated union: each alternative's own fields only.
      const a = gen(r, depth + 1);
      const b = gen(r, depth + 1);
      return {
        schema: z.discriminatedUnion("kind", [
          z.object({ kind: z.literal("a"), a: a.schema }),
          z.object({ kind: z.literal("b"), b: b.schema, note: z.string().optional() }),
        ]),
        value: (r) =>
          r.next() < 0.5
            ? junk(r, { kind: "a", a: a.value(r), b: "other alternative's field" })
            : junk(r, { kind: "b", b: b.value(r), a: "other alternative's field" }),
      };
    }
    case 7: {
      // A union of different kinds, in the order zod tries them.
      const kinds = [
        { schema: z.number().int(), value: (r: R) => r.int(100) },
        { schema: z.string(), value: (r: R) => r.pick(STRINGS) },
        { schema: z.object({ id: z.number() }), value: (r: R) => junk(r, { id: r.int(9) }) },
        { schema: z.array(z.boolean()), value: (r: R) => [r.next() < 0.5] },
        {
          schema: z.object({ name: z.string(), tags: z.array(z.string()) }),
          value: (r: R) => junk(r, { name: "n", tags: ["t"], id: 4 }),
        },
      ];
      const chosen = kinds.filter(() => r.next() < 0.6);
      if (chosen.length < 2) chosen.push(kinds[0]!, kinds[1]!);
      return {
        schema: z.union(chosen.map((k) => k.schema) as unknown as [z.ZodType, z.ZodType]),
        value: (r) => r.pick(chosen).value(r),
      };
    }
    default: {
      const a = gen(r, depth + 1);
      const b = gen(r, depth + 1);
      return {
        schema: z.tuple([a.schema, b.schema]),
        value: (r) => [a.value(r), b.value(r)],
      };
    }
  }
}

const jsonSchema = (s: z.ZodType) => {
  const { $schema: _s, ...rest } = z.toJSONSchema(s, { io: "output", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return rest;
};

describe("the compiled serializer against zod's output", () => {
  test("1,000 random schemas × 5 values: the same text as JSON.stringify(schema.parse(value))", () => {
    let compiled = 0;
    for (let seed = 1; seed <= 1000; seed++) {
      const r = rng(seed);
      const g = gen(r, 0);
      const js = jsonSchema(g.schema);
      const ser = compileSerializer(js);
      assert.ok(ser !== undefined, `seed ${seed}: not compiled: ${JSON.stringify(js)}`);
      compiled++;
      for (let i = 0; i < 5; i++) {
        const value = g.value(r);
        const expected = JSON.stringify(g.schema.parse(value));
        const out: string = ser(value);
        assert.equal(
          out,
          expected,
          `seed ${seed}, value ${JSON.stringify(value)}, schema ${JSON.stringify(js)}`,
        );
        JSON.parse(out); // valid JSON, always
        assert.doesNotMatch(out, /secret|other alternative/);
      }
    }
    assert.equal(compiled, 1000);
  });

  test("recursive schemas: $ref to the root and to $defs", () => {
    interface Node {
      name: string;
      kids: Node[];
    }
    const Tree: z.ZodType<Node> = z.lazy(() => z.object({ name: z.string(), kids: z.array(Tree) }));
    const Forest = z.object({ main: Tree, spare: Tree.nullable() });
    const r = rng(7);
    const grow = (d: number): unknown =>
      junk(r, {
        name: r.pick(STRINGS),
        kids: d > 3 ? [] : Array.from({ length: r.int(3) }, () => grow(d + 1)),
      });
    for (const schema of [Tree, Forest] as z.ZodType[]) {
      const js = jsonSchema(schema);
      assert.match(JSON.stringify(js), /"\$ref":"#(\/\$defs\/[^"]+)?"/);
      const ser = compileSerializer(js)!;
      assert.ok(ser !== undefined);
      for (let i = 0; i < 50; i++) {
        const value =
          schema === Tree ? grow(0) : { main: grow(0), spare: i % 2 ? null : grow(1), x: "secret" };
        assert.equal(ser(value), JSON.stringify(schema.parse(value)));
      }
    }
  });

  test("a value that fits no alternative, or a key outside an enum, is an error, never written", () => {
    const ser = compileSerializer(jsonSchema(z.union([z.number(), z.object({ id: z.number() })])))!;
    assert.throws(() => ser("text"), /\(body\) is string, the schema says one of its alternatives/);
    assert.throws(() => ser({ id: "1" }), /one of its alternatives/);
    const color = compileSerializer(jsonSchema(z.object({ c: z.enum(["red", "blue"]) })))!;
    assert.throws(() => color({ c: "secret" }), /c is string, the schema says one of its enum values/);
    const keys = compileSerializer(jsonSchema(z.partialRecord(z.enum(["x"]), z.number())))!;
    assert.equal(keys({ x: 1, secret: 2 }), '{"x":1}');
  });
});
