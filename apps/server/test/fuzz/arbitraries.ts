// Hostile inputs for property-based tests: adversarial strings and values, and inputs shaped by a
// procedure's own zod schema (through its JSON Schema) with hostile leaves, so they reach deep code.
import fc from "fast-check";
import { z } from "zod";

// Deep values print by name: fast-check's own printer would overflow the stack on them.
const named = <T extends object>(value: T, name: string): T =>
  Object.defineProperty(value, fc.toStringMethod, { value: () => name, enumerable: false });
const deepArray = (depth: number) => named(JSON.parse("[".repeat(depth) + "]".repeat(depth)), `deepArray(${depth})`);
const deepObject = (depth: number) => {
  let value: object = {};
  for (let i = 0; i < depth; i++) value = { a: value };
  return named(value, `deepObject(${depth})`);
};

export const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "a\u0000b",
    "\uD800",
    "x\uDC00y",
    "0000-01-01T00:00:00Z",
    "\uFFFF\uFEFF\u202E",
    "e\u0301\u0301\u0301",
    '\'; DROP TABLE "User"; --',
    "' OR '1'='1",
    "$1; SELECT pg_sleep(10)",
    "<script>alert(1)</script>",
    "javascript:alert(1)",
    "__proto__",
    "constructor",
    "../../../etc/passwd",
    "%00%27",
    "${jndi:ldap://x}",
    "{{7*7}}",
    "NaN",
    "-0",
    "1e309",
    "00000000-0000-0000-0000-000000000000",
    "x".repeat(300_000),
    "😀".repeat(50_000),
  ),
);

export const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    hostileString,
    fc.integer(),
    fc.double(),
    fc.constantFrom(null, true, false, Number.MAX_SAFE_INTEGER + 2, -1, 0, 2 ** 31, 3_000_000_000),
    fc.constantFrom(deepArray(1_000), deepObject(3_000), { __proto__: { polluted: true } }),
    // Keys superjson refuses to serialise, below the top level where a JSON column would keep them.
    fc.constantFrom(
      JSON.parse('{"a":[{"prototype":"x"}]}') as unknown,
      JSON.parse('{"nested":{"constructor":1}}') as unknown,
      JSON.parse('{"a":{"__proto__":{"polluted":true}}}') as unknown,
    ),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.oneof(hostileString, fc.constantFrom("__proto__", "constructor", "prototype")), tie("value"), {
      maxKeys: 4,
    }),
  ),
})).value;

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  format?: string;
  minItems?: number;
  maxItems?: number;
};

/**
 * An input shaped like the schema wants — right keys and types — where any leaf may be hostile, and
 * ids may be a stranger's (`foreignIds`), to probe authorization as well as validation.
 */
export function schemaShaped(schema: z.ZodType, foreignIds: readonly string[]): fc.Arbitrary<unknown> {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  return fromJsonSchema(json, foreignIds, 0);
}

function fromJsonSchema(schema: JsonSchema, ids: readonly string[], depth: number): fc.Arbitrary<unknown> {
  const leaf = (good: fc.Arbitrary<unknown>) =>
    fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: hostileValue });
  if (depth > 6) return hostileValue;
  if (schema.const !== undefined) return leaf(fc.constant(schema.const));
  if (schema.enum) return leaf(fc.constantFrom(...schema.enum));
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((alt) => fromJsonSchema(alt, ids, depth + 1)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "object": {
      const properties = schema.properties ?? {};
      const shape = Object.fromEntries(
        Object.entries(properties).map(([key, value]) => [key, fromJsonSchema(value, ids, depth + 1)]),
      );
      return leaf(fc.record(shape, { requiredKeys: schema.required?.filter((key) => key in shape) ?? [] }));
    }
    case "array":
      return leaf(
        fc.array(schema.items ? fromJsonSchema(schema.items, ids, depth + 1) : hostileValue, {
          maxLength: Math.min(schema.maxItems ?? 5, 5),
        }),
      );
    case "string":
      if (schema.format === "uuid") return leaf(fc.oneof(fc.uuid(), fc.constantFrom(...ids)));
      if (schema.format === "email") return leaf(fc.emailAddress());
      return leaf(fc.string({ maxLength: 30 }));
    case "integer":
      return leaf(fc.integer({ min: -5, max: 200 }));
    case "number":
      return leaf(fc.double({ noNaN: true }));
    case "boolean":
      return leaf(fc.boolean());
    case "null":
      return leaf(fc.constant(null));
    default:
      return hostileValue;
  }
}
