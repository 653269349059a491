// serializeOutput must send exactly what superjson.serialize sends, for any value: the clients decode it
// with superjson, and a difference in a path, an annotation or a key's place would be a silent bug.
import fc from "fast-check";
import superjson from "superjson";
import { describe, expect, it } from "vitest";

import { serializeOutput } from "../src/lib/wire.ts";

/** The JSON text sent, or the error raised (superjson refuses some keys). */
const sent = (serialize: (value: unknown) => unknown, value: unknown) => {
  try {
    return JSON.stringify(serialize(value));
  } catch (error) {
    return `throws ${String(error)}`;
  }
};
const same = (value: unknown) => expect(sent(serializeOutput, value)).toBe(sent((v) => superjson.serialize(v), value));

// Keys that exercise superjson's path escaping and JavaScript's key order (integer-like keys come first).
const key = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom("a.b", "a\\b", "\\.", ".", "0", "1", "10", "-1", "01", "createdAt", "__proto__", "constructor"),
);
const leaf = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.date(),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, new Date(Number.NaN)),
  fc.bigInt(),
);
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof({ depthSize: "small" }, leaf, tie("array"), tie("object")),
  array: fc.array(tie("tree"), { maxLength: 5 }),
  object: fc.dictionary(key, tie("tree"), { maxKeys: 5 }),
}));

describe("serializeOutput", () => {
  it("equals superjson.serialize for arbitrary values", () => {
    fc.assert(
      fc.property(tree, (value) => {
        same(value);
      }),
      { numRuns: 3_000 },
    );
  });

  it("equals superjson for what superjson alone can write: shared and circular references, Maps, classes", () => {
    const date = new Date("2026-01-02T03:04:05.006Z");
    const shared = { a: 1 };
    const circular: Record<string, unknown> = { name: "loop" };
    circular.self = circular;
    class Point {
      constructor(public x = 1) {}
    }
    const holey = [1, , 3]; // eslint-disable-line no-sparse-arrays
    for (const value of [
      { createdAt: date, updatedAt: date },
      [shared, shared],
      circular,
      { map: new Map([["k", date]]) },
      { set: new Set([1]) },
      { point: new Point() },
      { error: new Error("x") },
      holey,
      date,
      undefined,
      Object.assign(Object.create(null) as object, { when: date }),
      { items: [{ at: date, note: undefined }], "a.b": { "c\\d": date } },
    ]) {
      same(value);
    }
  });

  it("round-trips through superjson.deserialize", () => {
    const value = { items: [{ at: new Date(0), gone: undefined, n: 1 }], next: null };
    expect(superjson.deserialize(serializeOutput(value) as never)).toEqual(value);
  });
});
