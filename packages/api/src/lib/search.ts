// Free-text filters (`q`). Prisma passes `contains` to LIKE as is, where `%` and `_` are wildcards: a
// search for "%" would match everything. They are escaped so the text matches only itself. Either form is
// a case-insensitive ILIKE '%…%', which the trigram GIN indexes (pg_trgm, schema.prisma) serve.

const escapeWildcards = (q: string) => q.replace(/[\\%_]/g, "\\$&");

/** A case-insensitive substring filter for `q`, wildcards taken literally. */
export function containsText(q: string) {
  return { contains: escapeWildcards(q), mode: "insensitive" } as const;
}

/** The same filter's ILIKE pattern, for SQL written by hand (backslash is ILIKE's default escape). */
export function likePattern(q: string): string {
  return `%${escapeWildcards(q)}%`;
}
