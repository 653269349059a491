// Rules every input obeys, whatever the procedure and transport, checked before any schema or write:
// - no NUL character and no unpaired UTF-16 surrogate in any string or key: PostgreSQL refuses the first
//   (22021) and the driver silently turns the second into U+FFFD, so a replayed create would no longer
//   match what was stored;
// - no `__proto__`, `constructor` or `prototype` key at any depth: superjson refuses to serialise such
//   objects, so one stored row would break every read that returns it;
// - no nesting deeper than MAX_INPUT_DEPTH and no cycles (a superjson envelope can describe one).
// A violation is a BAD_REQUEST whose issue names the field, like any other validation failure.
import { z } from "zod";

export const MAX_INPUT_DEPTH = 32;

export const UNSAFE_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

// An unpaired high surrogate, or a low surrogate with no high one before it.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export interface InputProblem {
  path: (string | number)[];
  message: string;
}

/** What is wrong with a string, or null. */
export function stringProblem(value: string): string | null {
  if (value.includes("\u0000")) return "must not contain NUL (\\u0000) characters";
  if (LONE_SURROGATE.test(value)) return "must be valid Unicode text (it holds an unpaired surrogate)";
  return null;
}

/** The first problem of a decoded input (JSON or superjson), or null when it obeys every rule. */
export function findInputProblem(input: unknown): InputProblem | null {
  return visit(input, [], new Set());
}

function visit(value: unknown, path: (string | number)[], ancestors: Set<object>): InputProblem | null {
  if (typeof value === "string") {
    const problem = stringProblem(value);
    return problem ? { path, message: problem } : null;
  }
  if (typeof value !== "object" || value === null) return null;
  // Only containers a client can build are walked; anything else (a Date) is for the schema to judge.
  const isArray = Array.isArray(value);
  if (!isArray && !isPlainObject(value)) return null;
  if (ancestors.has(value)) return { path, message: "must not refer to itself (a cycle)" };
  if (path.length >= MAX_INPUT_DEPTH) return { path, message: `nests deeper than ${MAX_INPUT_DEPTH} levels` };
  ancestors.add(value);
  try {
    if (isArray) {
      for (let index = 0; index < value.length; index++) {
        const problem = visit(value[index], [...path, index], ancestors);
        if (problem) return problem;
      }
      return null;
    }
    for (const key of Object.keys(value)) {
      // Reported on the object that holds it: an error keyed by "__proto__" could not be sent either.
      if (UNSAFE_KEYS.has(key)) return { path, message: `"${key}" is not allowed as a key` };
      const keyProblem = stringProblem(key);
      if (keyProblem) return { path, message: `a key ${keyProblem}` };
      const problem = visit(value[key], [...path, key], ancestors);
      if (problem) return problem;
    }
    return null;
  } finally {
    ancestors.delete(value);
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The problem as a zod error, so it is reported exactly like a schema's own (field path and message).
 * ZodRealError is the one `parse` throws: unlike ZodError it is an Error, which tRPC keeps as the cause.
 */
export function asZodError(problem: InputProblem): z.ZodError {
  return new z.ZodRealError([{ code: "custom", path: problem.path, message: problem.message, input: undefined }]);
}

/**
 * A JSON value read back from the database without the keys no client could have stored through the
 * guard above (rows written before it existed): one such row must never break the reads that return it.
 * Returns the value itself when it holds none (the usual case: no copy).
 */
export function withoutUnsafeKeys(value: unknown): unknown {
  return holdsUnsafeKey(value) ? copyWithoutUnsafeKeys(value) : value;
}

function holdsUnsafeKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(holdsUnsafeKey);
  if (!isPlainObject(value)) return false;
  return Object.entries(value).some(([key, item]) => UNSAFE_KEYS.has(key) || holdsUnsafeKey(item));
}

function copyWithoutUnsafeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copyWithoutUnsafeKeys);
  if (!isPlainObject(value)) return value;
  const safe = Object.entries(value).filter(([key]) => !UNSAFE_KEYS.has(key));
  return Object.fromEntries(safe.map(([key, item]) => [key, copyWithoutUnsafeKeys(item)]));
}
