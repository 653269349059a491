import { describe, expect, it } from "vitest";

import { conflictsWith, readFieldRevs, recordChanges } from "../src/settings/field-revs.ts";
import { applyMergePatch, enclosingPointers, patchLeaves, toPointer, valueAt } from "../src/settings/merge-patch.ts";
import { mergeSettings, touchedPointers, DEFAULT_SETTINGS } from "../src/settings/merge.ts";

describe("applyMergePatch", () => {
  // RFC 7396, Appendix A: target, patch, result.
  it.each([
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [
      ["a", "b"],
      ["c", "d"],
      ["c", "d"],
    ],
    [{ a: "b" }, ["c"], ["c"]],
    [{ a: "foo" }, null, null],
    [{ a: "foo" }, "bar", "bar"],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])("%j + %j = %j", (target, patch, result) => {
    const before = JSON.stringify(target);
    expect(applyMergePatch(target, patch)).toEqual(result);
    expect(JSON.stringify(target)).toBe(before);
  });
});

describe("paths", () => {
  it("lists a patch's leaves: values, nulls, arrays and empty objects", () => {
    expect(patchLeaves({ a: { b: 1, c: null, d: [1], e: {} }, f: "x" })).toEqual([
      ["a", "b"],
      ["a", "c"],
      ["a", "d"],
      ["a", "e"],
      ["f"],
    ]);
  });

  it("writes JSON Pointers with ~ and / escaped, and tells overlap on segment boundaries", () => {
    expect(toPointer(["settingsData", "a/b", "m~n", ""])).toBe("/settingsData/a~1b/m~0n/");
    expect(enclosingPointers("/settingsData/a~1b/c")).toEqual(["/settingsData", "/settingsData/a~1b"]);
    // Overlap is on segment boundaries, on escaped keys.
    const changed = { revs: { "/settingsData/a": 2 }, floor: 0 };
    expect(conflictsWith(changed, 1, ["/settingsData/ab"])).toBe(false);
    expect(conflictsWith(changed, 1, ["/settingsData/a~1b"])).toBe(false);
    expect(conflictsWith(changed, 1, ["/settingsData/a/b"])).toBe(true);
  });

  it("reads the value at a path, undefined through a non-object", () => {
    expect(valueAt({ a: { b: [1] } }, ["a", "b"])).toEqual([1]);
    expect(valueAt({ a: "x" }, ["a", "b"])).toBeUndefined();
    expect(valueAt({ a: { b: 1 } }, ["a", "c"])).toBeUndefined();
  });

  it("touches the columns present and each leaf of the settingsData patch", () => {
    expect(
      touchedPointers({ theme: "dark", defaultModel: null, settingsData: { "model-settings": { state: {} } } }),
    ).toEqual(["/theme", "/defaultModel", "/settingsData/model-settings/state"]);
  });
});

describe("fieldRevs", () => {
  const revs = readFieldRevs({ "/theme": 5, "/settingsData/a/b": 7, "/junk": "x", "/old": 2 }, 3);

  it("reads only integer revisions above the floor", () => {
    expect(revs).toEqual({ revs: { "/theme": 5, "/settingsData/a/b": 7 }, floor: 3 });
  });

  it("conflicts below the floor, or on a path equal to, inside or around a newer change", () => {
    expect(conflictsWith(revs, 2, ["/language"])).toBe(true);
    expect(conflictsWith(revs, 3, ["/language"])).toBe(false);
    expect(conflictsWith(revs, 4, ["/theme"])).toBe(true);
    expect(conflictsWith(revs, 5, ["/theme"])).toBe(false);
    expect(conflictsWith(revs, 6, ["/settingsData/a"])).toBe(true);
    expect(conflictsWith(revs, 6, ["/settingsData/a/b/c"])).toBe(true);
    expect(conflictsWith(revs, 6, ["/settingsData/a/c", "/settingsData/ab"])).toBe(false);
    expect(conflictsWith(revs, 7, ["/settingsData"])).toBe(false);
  });

  it("records changes, forgetting what lies inside them", () => {
    expect(recordChanges(revs, ["/settingsData/a"], 9)).toEqual({
      revs: { "/theme": 5, "/settingsData/a": 9 },
      floor: 3,
    });
  });

  it("keeps at most `max` paths, raising the floor to the newest one forgotten", () => {
    const many = recordChanges({ revs: { "/a": 4, "/b": 5, "/c": 6 }, floor: 0 }, ["/d", "/e"], 8, 3);
    expect(many).toEqual({ revs: { "/c": 6, "/d": 8, "/e": 8 }, floor: 5 });
  });
});

describe("mergeSettings", () => {
  it("reports only the paths whose value changed", () => {
    const current = { ...DEFAULT_SETTINGS, theme: "dark" as const, settingsData: { a: { b: 1 }, s: "x" } };
    const merge = mergeSettings(current, {
      theme: "dark",
      language: "de",
      settingsData: { a: { b: 1, c: 2 }, s: null, t: null },
    });
    expect(merge).toEqual({
      ok: true,
      columns: { theme: "dark", language: "de", defaultModel: null, settingsData: { a: { b: 1, c: 2 } } },
      changed: ["/language", "/settingsData/a/c", "/settingsData/s"],
    });
  });

  it("refuses a merged document out of bounds", () => {
    const current = { ...DEFAULT_SETTINGS, settingsData: { a: "x".repeat(40_000) } };
    const merge = mergeSettings(current, { settingsData: { b: "x".repeat(40_000) } });
    expect(merge).toMatchObject({ ok: false, problem: expect.stringMatching(/bytes of JSON; at most 65536/) });
  });
});
