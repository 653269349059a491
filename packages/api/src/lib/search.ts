// Free-text filters (`q`). Prisma passes `contains` to LIKE as is, where `%` and `_` are wildcards: a
// search for "%" would match everything. They are escaped so the text matches only itself.

/** A case-insensitive substring filter for `q`, wildcards taken literally. */
export function containsText(q: string) {
  return { contains: q.replace(/[\\%_]/g, "\\$&"), mode: "insensitive" } as const;
}
