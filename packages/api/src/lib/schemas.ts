// Zod building blocks shared by the domain schemas. Every string, array and JSON value is bounded.
// The REST adapter (apps/server/src/http/rest.ts) coerces nothing: a query string's values arrive as
// strings, and the schemas of GET inputs parse them explicitly (zQueryBool, zLimit).
import { z } from "zod";

/** A row id: a UUID (clients may generate their own, any RFC 9562 version). */
export const zId = z.uuid({ message: "must be a UUID" });

/** A boolean from JSON or a query string ("true" / "false"); the OpenAPI generator reads the pipe's type. */
export const zQueryBool = () =>
  z.union([z.boolean(), z.enum(["true", "false"]).transform((value) => value === "true")]).pipe(z.boolean());

/** The revision the client last saw, for optimistic concurrency. */
export const zBaseRev = z.number().int().min(0).max(2_147_483_647);

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

/** Page size from JSON or a query string. */
export const zLimit = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^\d{1,4}$/, "must be a whole number")
      .transform(Number),
  ])
  .pipe(z.number().int().min(1).max(MAX_PAGE_SIZE))
  .default(DEFAULT_PAGE_SIZE);

/** Trimmed single-line text with length bounds. */
export const zText = (max: number, min = 1) => z.string().trim().min(min).max(max);

/** Tags: trimmed, lower-cased, inner whitespace collapsed, duplicates and empties dropped; bounded. */
export const MAX_TAGS = 20;
export const MAX_TAG_LENGTH = 40;
export const zTags = z
  .array(z.string().max(MAX_TAG_LENGTH * 2), { message: "must be an array of strings" })
  // Its own message: the array's is for an array that is not one of strings.
  .max(MAX_TAGS, `at most ${MAX_TAGS} tags`)
  .transform(normaliseTags)
  .pipe(z.array(z.string().max(MAX_TAG_LENGTH, `a tag has at most ${MAX_TAG_LENGTH} characters`)));

export function normaliseTag(tag: string): string {
  return tag.trim().replace(/\s+/g, " ").toLowerCase();
}

/** Tags as stored and searched: normalised, without empties or duplicates, in their first order. */
export function normaliseTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map(normaliseTag).filter((tag) => tag.length > 0))];
}

/** Dates go out as Date over tRPC (superjson) and as ISO strings over REST. */
export const zDateOut = z.date();

/** A JSON object as returned to clients. */
export const zJsonObjectOut = z.record(z.string(), z.unknown());

/** The answer to a delete: the row is now a tombstone at `rev` (sync tells the other devices). */
export const zDeleted = z.object({ id: zId, deleted: z.literal(true), rev: z.number().int() });
export type Deleted = z.infer<typeof zDeleted>;
