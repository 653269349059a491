// Opaque keyset cursors: base64url JSON of the last row's sort key. Decoding happens in the input schema,
// so a bad cursor is a BAD_REQUEST on the `cursor` field like any other bad input.
import { z } from "zod";

// Web APIs rather than Node's Buffer: the apps run these schemas in browsers too (via @prompt-booster/client).
export function encodeCursor(key: Record<string, string | number>): string {
  const bytes = new TextEncoder().encode(JSON.stringify(key));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

function decodeCursorText(raw: string): string {
  const binary = atob(raw.replace(/-/g, "+").replace(/_/g, "/"));
  return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(binary, (char) => char.charCodeAt(0)));
}

/** Room for a name-sorted cursor holding a 200-character name that JSON escapes (up to 6 bytes each). */
const MAX_CURSOR_LENGTH = 2_048;

/** A `cursor` input field that decodes to `shape`, or fails validation naming the field. */
export function zCursor<T extends z.ZodType>(shape: T) {
  return z
    .string()
    .max(MAX_CURSOR_LENGTH)
    .transform((raw, ctx): z.output<T> => {
      let decoded: unknown;
      try {
        decoded = JSON.parse(decodeCursorText(raw));
      } catch {
        decoded = undefined;
      }
      const parsed = shape.safeParse(decoded);
      if (!parsed.success) {
        ctx.addIssue({ code: "custom", message: "is not a cursor this list returned" });
        return z.NEVER;
      }
      return parsed.data;
    });
}

/** An ISO timestamp inside a cursor, kept at the database's millisecond precision, within years PostgreSQL stores. */
export const zCursorDate = z.iso
  .datetime()
  .transform((value) => new Date(value))
  .refine((date) => date.getUTCFullYear() >= 1970 && date.getUTCFullYear() <= 9999, "is out of range");

/** `{ items, nextCursor }` for a page of `limit` rows fetched as `limit + 1`. */
export function page<Row, Item>(
  rows: Row[],
  limit: number,
  toItem: (row: Row) => Item,
  cursorOf: (row: Row) => Record<string, string | number>,
): { items: Item[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const last = kept.at(-1);
  return { items: kept.map(toItem), nextCursor: more && last ? encodeCursor(cursorOf(last)) : null };
}

export const zPageOut = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });
