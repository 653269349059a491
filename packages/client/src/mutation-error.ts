// Kept apart from validate.ts (loaded on demand) so `instanceof InvalidMutationError` works without zod.

/** A write that can never apply (the server's own validation would refuse it): nothing was queued. */
export class InvalidMutationError extends Error {
  override readonly name = "InvalidMutationError";
  constructor(
    readonly mutation: unknown,
    /** The messages per field, keyed by the dotted path inside the mutation's `input` (as the server's). */
    readonly fieldErrors: Record<string, string[]>,
    /** Messages about the mutation as a whole. */
    readonly formErrors: string[],
  ) {
    const first = Object.entries(fieldErrors)[0];
    const op = (mutation as { op?: unknown } | null)?.op;
    super(
      `Invalid ${typeof op === "string" ? op : "sync"} mutation: ${
        first ? `${first[0]}: ${first[1][0]}` : (formErrors[0] ?? "invalid")
      }`,
    );
  }
}
