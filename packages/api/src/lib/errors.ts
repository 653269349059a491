import { TRPCError } from "@trpc/server";

/**
 * The error codes a service (or the HTTP transport) may throw; each maps to one tRPC code and HTTP status
 * (see trpc.ts). The last three come only from the transport: a wrong method, a body in another media type
 * or one that never finished arriving.
 */
export type AppErrorCode =
  | "BAD_REQUEST"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  | "TOO_MANY_REQUESTS"
  | "PAYLOAD_TOO_LARGE"
  | "SERVICE_UNAVAILABLE"
  | "METHOD_NOT_SUPPORTED"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "TIMEOUT";

/**
 * The one error type services throw. `message` is written for a person and is always safe to show;
 * `details` carries structured data the client needs (the current row of a CONFLICT, for example).
 */
export class AppError extends TRPCError {
  readonly details: Record<string, unknown> | undefined;

  constructor(code: AppErrorCode, message: string, details?: Record<string, unknown>) {
    super({ code, message });
    // `name` stays "TRPCError": trpc-to-openapi recognises tRPC errors by name, and answers any other
    // error with 500, so renaming it would turn every REST refusal (401, 404, 409…) into a 500.
    this.details = details;
  }
}

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
