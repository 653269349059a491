import { initTRPC, TRPCError } from "@trpc/server";
import { TRPC_ERROR_CODES_BY_KEY } from "@trpc/server/rpc";
import type { OpenApiMeta } from "trpc-to-openapi";
import { z } from "zod";

import type { ApiContext } from "./context.ts";
import { databaseUnavailable, isDatabaseUnavailable } from "./lib/db-errors.ts";
import { APP_ERROR_CODES, AppError, signInRequired } from "./lib/errors.ts";
import { asZodError, findInputProblem, UNSAFE_KEYS } from "./lib/input-guard.ts";
import { apiTransformer } from "./lib/wire.ts";
import { serviceDeps } from "./lib/service.ts";

const t = initTRPC
  .context<ApiContext>()
  .meta<OpenApiMeta>()
  .create({
    // superjson on the wire; answers are written by wire.ts's faster walk (same bytes).
    transformer: apiTransformer,
    // Subscriptions (sync.subscribe) over server-sent events: a comment line every 10 s keeps proxies from
    // closing a quiet stream, and a client hearing nothing for 25 s reconnects (resuming from its last id).
    sse: { ping: { enabled: true, intervalMs: 10_000 }, client: { reconnectAfterInactivityMs: 25_000 } },
    errorFormatter({ shape, error }) {
      const zodError = error.cause instanceof z.ZodError ? error.cause : null;
      // Services throw AppError; tRPC wraps whatever it catches, so the AppError is the cause. Its code is
      // what the client gets, however it travelled (a subscription's error skips the middleware below).
      const appError = error.cause instanceof AppError ? error.cause : null;
      const code = appError ? APP_ERROR_CODES[appError.code].trpc : shape.data.code;
      const httpStatus = appError ? appError.status : shape.data.httpStatus;
      const internal = httpStatus >= 500 && !appError;
      // A body the transport could not decode (broken JSON, a hostile superjson envelope): the parser's
      // own message ("Unexpected token…", "Maximum call stack…") says nothing useful and tells internals.
      const unreadable = !zodError && !appError && code === "BAD_REQUEST" && error.cause instanceof Error;
      return {
        ...shape,
        code: TRPC_ERROR_CODES_BY_KEY[code],
        // Never show the internals of an unexpected failure: no SQL, no stack, no driver message.
        message: zodError
          ? summariseIssues(zodError)
          : internal
            ? "Internal server error"
            : unreadable
              ? "The request could not be read: send JSON in tRPC's superjson envelope"
              : (appError?.message ?? shape.message),
        data: {
          code,
          httpStatus,
          path: shape.data.path,
          // Per-field messages for bad input, keyed by the dotted path of the field.
          fieldErrors: zodError ? fieldErrors(zodError) : undefined,
          details: appError?.details,
        },
      };
    },
  });

/** An AppError as tRPC throws it: the table's code, the AppError kept as the cause (details, status). */
export function toTRPCError(error: AppError): TRPCError {
  return new TRPCError({ code: APP_ERROR_CODES[error.code].trpc, message: error.message, cause: error });
}

/** "email: Invalid email address; password: Too small" — names every bad field. */
function summariseIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 10)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "input"}: ${issue.message}`)
    .join("; ");
}

function fieldErrors(error: z.ZodError): Record<string, string[]> {
  const byField = new Map<string, string[]>();
  for (const issue of error.issues) {
    const path = issue.path.length > 0 ? issue.path.join(".") : "input";
    // A bare "constructor" or "__proto__" would not survive as a key of the answer.
    const key = UNSAFE_KEYS.has(path) ? `input.${path}` : path;
    byField.set(key, [...(byField.get(key) ?? []), issue.message]);
  }
  return Object.fromEntries(byField);
}

export const router = t.router;
// An AppError thrown anywhere below (a service, the auth gate) leaves as the TRPCError of its code, so
// tRPC answers with the code's HTTP status.
const domainErrors = t.procedure.use(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof AppError) throw toTRPCError(result.error.cause);
  return result;
});

// Every input, on every transport, obeys the rules of lib/input-guard.ts before any schema or service sees it.
const guarded = domainErrors.use(async ({ getRawInput, next }) => {
  const problem = findInputProblem(await getRawInput());
  if (problem) throw new TRPCError({ code: "BAD_REQUEST", cause: asZodError(problem) });
  return next();
});

// A database outage is the server's condition, not a bug in the request: answer 503 so clients retry,
// instead of a 500. (In tRPC v11 `next()` never throws: inspect its result.)
const databaseAware = guarded.use(async ({ next }) => {
  const result = await next();
  if (!result.ok && isDatabaseUnavailable(result.error.cause)) throw databaseUnavailable();
  return result;
});

export const publicProcedure = databaseAware;
export const createCallerFactory = t.createCallerFactory;

/** Requires a signed-in user; narrows `ctx.auth` for everything after it. */
export const protectedProcedure = databaseAware.use(({ ctx, type, path, next }) => {
  if (!ctx.auth) throw signInRequired();
  // CSRF: a browser sends the cookie on cross-site requests too, but always names the page's Origin on
  // a POST. Bearer tokens are never sent by a browser on its own, so they need no such check.
  if (type === "mutation" && ctx.auth.via === "cookie") {
    const origin = ctx.request.origin;
    if (origin === null || !ctx.config.corsOrigins.includes(origin)) {
      throw new AppError("FORBIDDEN", "Origin: a cookie-authenticated change must come from an allowed origin");
    }
  }
  // AUTH_REQUIRE_EMAIL_VERIFICATION: an unconfirmed account reads but does not write, except its own account
  // (auth.*: confirming, resending, changing the address, signing out…). sync.push is refused as a whole.
  if (
    type === "mutation" &&
    ctx.config.requireEmailVerification === true &&
    ctx.auth.user.emailVerified !== true &&
    !path.startsWith("auth.")
  ) {
    throw new AppError("FORBIDDEN", "Confirm your email address first: use the link mailed to you", {
      reason: "emailNotVerified",
    });
  }
  // Services get their deps (db, clock, events) built once here, and the user as a plain id.
  return next({ ctx: { ...ctx, auth: ctx.auth, deps: serviceDeps(ctx) } });
});
