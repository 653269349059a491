// The one error type of the domain, independent of any transport, and the one table that says what each
// of its codes is on the wire: tRPC's code (trpc.ts turns an AppError into a TRPCError) and the HTTP status
// (the REST adapter and the server's own error answers, apps/server/src/http/errors.ts).
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server";

export const APP_ERROR_CODES = {
  BAD_REQUEST: { trpc: "BAD_REQUEST", status: 400 },
  UNAUTHORIZED: { trpc: "UNAUTHORIZED", status: 401 },
  FORBIDDEN: { trpc: "FORBIDDEN", status: 403 },
  NOT_FOUND: { trpc: "NOT_FOUND", status: 404 },
  CONFLICT: { trpc: "CONFLICT", status: 409 },
  PRECONDITION_FAILED: { trpc: "PRECONDITION_FAILED", status: 412 },
  TOO_MANY_REQUESTS: { trpc: "TOO_MANY_REQUESTS", status: 429 },
  PAYLOAD_TOO_LARGE: { trpc: "PAYLOAD_TOO_LARGE", status: 413 },
  SERVICE_UNAVAILABLE: { trpc: "SERVICE_UNAVAILABLE", status: 503 },
  // Only the HTTP transport finds these: a wrong method, a body in another media type or one that never
  // finished arriving, a path or headers too long. tRPC has no code for the last two: BAD_REQUEST.
  METHOD_NOT_SUPPORTED: { trpc: "METHOD_NOT_SUPPORTED", status: 405 },
  UNSUPPORTED_MEDIA_TYPE: { trpc: "UNSUPPORTED_MEDIA_TYPE", status: 415 },
  TIMEOUT: { trpc: "TIMEOUT", status: 408 },
  URI_TOO_LONG: { trpc: "BAD_REQUEST", status: 414 },
  HEADERS_TOO_LARGE: { trpc: "BAD_REQUEST", status: 431 },
} as const satisfies Record<string, { trpc: TRPC_ERROR_CODE_KEY; status: number }>;

export type AppErrorCode = keyof typeof APP_ERROR_CODES;

/**
 * The one error type services throw. `message` is written for a person and is always safe to show;
 * `details` carries structured data the client needs (the current row of a CONFLICT, for example).
 */
export class AppError extends Error {
  override readonly name = "AppError";

  constructor(
    readonly code: AppErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  get status(): number {
    return APP_ERROR_CODES[this.code].status;
  }
}

/**
 * `details.reason` of a refusal a client can act on beyond its code: FORBIDDEN `emailNotVerified` (show
 * "confirm your email", offer auth.resendVerification), FORBIDDEN `mailNotConfigured` (hide the mail flows),
 * BAD_REQUEST `token*` (a mailed link that is unknown, expired, already used or of another flow: ask for a
 * new one), BAD_REQUEST `alreadyVerified`, BAD_REQUEST `sameEmail`.
 */
export type ErrorReason =
  | "emailNotVerified"
  | "mailNotConfigured"
  | "tokenInvalid"
  | "tokenExpired"
  | "tokenUsed"
  | "tokenWrongPurpose"
  | "alreadyVerified"
  | "sameEmail"
  // Provider sign-in (auth/oauth): a one-time code or link token refused, an account with no password asked
  // for one (PRECONDITION_FAILED: set one through the reset flow), an unlink that would lock the user out.
  | "invalidCode"
  | "invalidLink"
  | "noPassword"
  | "lastSignInMethod";

export const notFound = (what: string) => new AppError("NOT_FOUND", `${what} not found`);

/** No usable session: the client should show its sign-in screen. `why` says what the server found. */
export const signInRequired = (why = "no valid session") => new AppError("UNAUTHORIZED", `Sign in to continue: ${why}`);

/** A client-chosen id that another row (of any user) already has. */
export const idTaken = (what: string) =>
  new AppError("CONFLICT", `This id is already in use; create the ${what} with a new id`);

/**
 * A write based on a revision the row is not at: CONFLICT with the current row. A client may send a
 * revision the row never had (a typo, a number from elsewhere), so the message claims a change only
 * when the row really moved past the sent revision.
 */
export function staleRevision(subject: string, sentRev: number, current: { rev: number }): AppError {
  const state = sentRev < current.rev ? "changed since the revision you sent" : "not at the revision you sent";
  return new AppError(
    "CONFLICT",
    `${subject} ${state} (current rev ${current.rev}, you sent ${sentRev}); send the current rev as baseRev`,
    { current },
  );
}
