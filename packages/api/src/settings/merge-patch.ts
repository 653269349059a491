// RFC 7396 JSON merge patches and the JSON Pointers (RFC 6901) of what one touches: how `settingsData`
// is updated, so two devices editing different keys both keep their change.
import { isPlainObject } from "../lib/input-guard.ts";

/**
 * `patch` applied to `target` as RFC 7396 says: an object's keys are set (objects merge recursively),
 * `null` deletes, absent keys stay as they are, anything else (arrays included) replaces the value whole.
 * Neither argument is modified.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

/**
 * The leaves of a patch, as paths of keys: every value that is not an object with keys (a string,
 * number, boolean, `null`, an array, or `{}`, which can turn a scalar into an object). These are what
 * the patch may change; everything else in the target stays as it was.
 */
export function patchLeaves(patch: Record<string, unknown>, prefix: string[] = []): string[][] {
  return Object.entries(patch).flatMap(([key, value]) =>
    isPlainObject(value) && Object.keys(value).length > 0 ? patchLeaves(value, [...prefix, key]) : [[...prefix, key]],
  );
}

/** The value at `path` in a JSON document, or undefined where there is none. */
export function valueAt(document: unknown, path: readonly string[]): unknown {
  let value = document;
  for (const key of path) {
    if (!isPlainObject(value) || !Object.hasOwn(value, key)) return undefined;
    value = value[key];
  }
  return value;
}

/** A JSON Pointer: each key prefixed by `/`, with `~` written `~0` and `/` written `~1`. */
export function toPointer(path: readonly string[]): string {
  return path.map((key) => `/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`).join("");
}

/** The pointers strictly enclosing `pointer`, outermost first: `/a/b/c` → `/a`, `/a/b`. */
export function enclosingPointers(pointer: string): string[] {
  const result: string[] = [];
  for (let at = pointer.indexOf("/", 1); at > 0; at = pointer.indexOf("/", at + 1)) result.push(pointer.slice(0, at));
  return result;
}
