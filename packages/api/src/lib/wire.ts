// What the API sends over tRPC: superjson's format, written faster. superjson.serialize walks every value
// with a fresh path array per node, a Map of identities and a registry lookup per object; on a sync.pull
// page of 500 changes that walk was a quarter of the server's CPU. Our answers are plain data (objects,
// arrays, strings, numbers, booleans, null, Dates, undefined), which one tight walk serializes to exactly
// what superjson would send; anything else (a Map, a class instance, NaN, -0, a shared or circular
// reference, a forbidden key) is handed to superjson itself. Clients still decode with superjson.
import superjson from "superjson";

type Annotation = ["Date"] | ["undefined"];

interface SuperJSONResult {
  json: unknown;
  meta?: { values: Record<string, Annotation>; v: 1 };
}

/** Thrown inside the walk when a value needs superjson's own handling (one instance: no stack per throw). */
const GIVE_UP = new Error("not plain data: serialized by superjson");

/** superjson.serialize(value), byte for byte once JSON-encoded, without its per-node overhead for plain data. */
export function serializeOutput(value: unknown): SuperJSONResult {
  const walk = new PlainWalk();
  let json: unknown;
  try {
    json = walk.copy(value);
  } catch (error) {
    if (error === GIVE_UP) return superjson.serialize(value) as SuperJSONResult;
    throw error;
  }
  const annotations = walk.annotations;
  if (annotations === undefined) return { json };
  // A Date or undefined at the root is annotated in a form of its own: leave it to superjson.
  if (Array.isArray(annotations)) return superjson.serialize(value) as SuperJSONResult;
  return { json, meta: { values: annotations, v: 1 } };
}

/** The API's tRPC transformer: superjson, with answers (and events) serialized by `serializeOutput`. */
export const apiTransformer = {
  input: superjson,
  output: { serialize: serializeOutput, deserialize: (value: unknown) => superjson.deserialize(value as never) },
};

/**
 * Copies a value into its JSON form, leaving in `annotations` what the last copied value needs annotated: a
 * leaf's annotation, or its subtree's as escaped paths. The paths are gathered level by level into objects,
 * as superjson does, so that their order is superjson's too (an object puts integer-like keys first).
 */
class PlainWalk {
  annotations: Annotation | Record<string, Annotation> | undefined;
  /** Every object met: superjson marks a second sighting (a shared or circular reference) in its own way. */
  private readonly seen = new Set<object>();

  copy(value: unknown): unknown {
    this.annotations = undefined;
    switch (typeof value) {
      case "string":
      case "boolean":
        return value;
      case "number":
        // NaN, ±Infinity and -0 travel as annotated strings.
        if (!Number.isFinite(value) || Object.is(value, -0)) throw GIVE_UP;
        return value;
      case "undefined":
        this.annotations = ["undefined"];
        return null;
      case "object":
        break;
      default:
        throw GIVE_UP; // bigint, symbol, function
    }
    if (value === null) return null;
    if (this.seen.has(value)) throw GIVE_UP;
    this.seen.add(value);
    if (value instanceof Date) {
      if (Number.isNaN(value.getTime())) throw GIVE_UP;
      this.annotations = ["Date"];
      return value.toISOString();
    }
    let inner: Record<string, Annotation> | undefined;
    const add = (key: string) => {
      const annotations = this.annotations;
      if (annotations === undefined) return;
      inner ??= {};
      if (Array.isArray(annotations)) inner[escapeKey(key)] = annotations;
      else for (const path in annotations) inner[`${escapeKey(key)}.${path}`] = annotations[path]!;
    };
    let copy: unknown[] | Record<string, unknown>;
    if (Array.isArray(value)) {
      copy = new Array<unknown>(value.length);
      for (let i = 0; i < value.length; i++) {
        if (!(i in value)) throw GIVE_UP; // a hole: superjson skips it
        copy[i] = this.copy(value[i]);
        add(String(i));
      }
    } else {
      const prototype = Object.getPrototypeOf(value) as unknown;
      if (prototype !== Object.prototype && prototype !== null) throw GIVE_UP;
      const object: Record<string, unknown> = {};
      for (const key of Object.keys(value)) {
        // superjson refuses these keys (prototype pollution) with its own error.
        if (key === "__proto__" || key === "constructor" || key === "prototype") throw GIVE_UP;
        object[key] = this.copy((value as Record<string, unknown>)[key]);
        add(key);
      }
      copy = object;
    }
    this.annotations = inner;
    return copy;
  }
}

/** superjson's path segment escaping: a backslash doubled, a dot escaped. */
function escapeKey(key: string): string {
  return key.includes("\\") || key.includes(".") ? key.replace(/\\/g, "\\\\").replace(/\./g, "\\.") : key;
}
