export { appRouter, createCaller } from "./root.ts";
export { listProcedures } from "./procedures.ts";
export type { ProcedureInfo } from "./procedures.ts";
export type { AppRouter, RouterInputs, RouterOutputs } from "./root.ts";
export type { ApiConfig, ApiContext, RequestInfo } from "./context.ts";
export { APP_ERROR_CODES, AppError } from "./lib/errors.ts";
export { toTRPCError } from "./trpc.ts";
export type { AppErrorCode } from "./lib/errors.ts";
export { systemClock } from "./lib/clock.ts";
export type { Clock } from "./lib/clock.ts";
export { createLocalChangeEvents } from "./lib/events.ts";
export type {
  AuthChange,
  ChangeEvent,
  ChangeEvents,
  LocalFanOut,
  LocalFanOutOptions,
  SessionsEnded,
  StreamSubscriber,
} from "./lib/events.ts";
export { createImportLimiter } from "./import/limiter.ts";
export type { ImportLimiter, ImportLimits } from "./import/limiter.ts";
export { pruneTombstones } from "./sync/prune.ts";
export type { PruneResult } from "./sync/prune.ts";
export type { AuthRateLimitedAction, AuthRateLimits, AuthState, SessionTransport } from "./context.ts";
export { createMailService } from "./mail/mailer.ts";
export type { MailMessage, MailSender, MailService, MailServiceOptions } from "./mail/mailer.ts";
export { createLogSender, createSmtpSender, LOGGED_MAIL_MARKER } from "./mail/smtp.ts";
export type { ErrorReason } from "./lib/errors.ts";
export { createSessionCache, generateSessionToken, resolveSession, sessionIdOf } from "./auth/session.ts";
export type { SessionCache, SessionCacheOptions } from "./auth/session.ts";
// For the benchmark's seed and tools that make accounts outside the API.
export { PASSWORD_HASH_PARAMS } from "./auth/password.ts";
export { databaseUnavailable, isDatabaseUnavailable } from "./lib/db-errors.ts";
export { asZodError, findInputProblem } from "./lib/input-guard.ts";
// Provider sign-in (GitHub, Google, OpenID Connect): the server's /start and /callback routes use these.
export * from "./auth/oauth/index.ts";
