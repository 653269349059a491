// Bounds and comparisons for free-form JSON columns (settingsData, template metadata).
import { z } from "zod";

import { isPlainObject, withoutUnsafeKeys } from "./input-guard.ts";

export interface JsonBounds {
  maxBytes: number;
  maxDepth: number;
  /** Largest number of keys/elements in any single object or array. */
  maxEntries?: number;
}

/**
 * A plain JSON object within size and depth bounds. Rejects anything that is not JSON (superjson may
 * carry Date, Map, BigInt, undefined…), so what is stored is exactly what every client reads back.
 */
export function zJsonObject(bounds: JsonBounds) {
  return z.record(z.string().max(200), z.unknown()).superRefine((value, ctx) => {
    const problem = checkJson(value, bounds.maxDepth, bounds.maxEntries ?? 1_000, 1);
    if (problem) {
      ctx.addIssue({ code: "custom", message: problem.message, path: problem.path });
      return;
    }
    const bytes = new TextEncoder().encode(JSON.stringify(value)).length;
    if (bytes > bounds.maxBytes) {
      ctx.addIssue({ code: "custom", message: `is ${bytes} bytes of JSON; at most ${bounds.maxBytes} are allowed` });
    }
  });
}

function checkJson(
  value: unknown,
  maxDepth: number,
  maxEntries: number,
  depth: number,
): { message: string; path: (string | number)[] } | null {
  // Strings and keys obey the input guard's rules (lib/input-guard.ts), which every input passes, JSON text
  // that import parses included: they are not checked twice here.
  if (value === null || typeof value === "boolean" || typeof value === "string") return null;
  if (typeof value === "number") {
    return Number.isFinite(value) ? null : { message: "numbers must be finite", path: [] };
  }
  const isArray = Array.isArray(value);
  if (!isArray && !isPlainObject(value)) return { message: "must contain only JSON values", path: [] };
  if (depth > maxDepth) return { message: `nests deeper than ${maxDepth} levels`, path: [] };
  const entries: [string | number, unknown][] = isArray
    ? value.map((item, index) => [index, item])
    : Object.entries(value);
  if (entries.length > maxEntries) return { message: `has more than ${maxEntries} entries`, path: [] };
  for (const [key, item] of entries) {
    const problem = checkJson(item, maxDepth, maxEntries, depth + 1);
    if (problem) return { message: problem.message, path: [key, ...problem.path] };
  }
  return null;
}

/** Deep equality of JSON values, ignoring object key order (jsonb does not keep it). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => jsonEqual(item, b[index]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  return (
    keys.length === Object.keys(right).length && keys.every((key) => key in right && jsonEqual(left[key], right[key]))
  );
}

/** A JSON column read back from Prisma, as the object clients get (see withoutUnsafeKeys). */
export function asJsonObject(value: unknown): Record<string, unknown> {
  return isPlainObject(value) ? (withoutUnsafeKeys(value) as Record<string, unknown>) : {};
}
