import type { PrismaClient } from "@prompt-booster/db";

import type { Clock } from "./lib/clock.ts";
import type { ImportLimiter } from "./import/limiter.ts";
import type { ChangeEvents } from "./lib/events.ts";
import type { MailService } from "./mail/mailer.ts";
import type { PushResult } from "./sync/schemas.ts";

/** What the transport (apps/server) knows about the request; packages/api never sees Fastify. */
export interface RequestInfo {
  requestId: string;
  ip: string;
  userAgent: string | null;
  /** The Origin header, when the browser sent one. */
  origin: string | null;
  /** The Accept-Language header: the language of a mail to someone whose settings name none. */
  acceptLanguage?: string | null;
}

/** Settings the procedures need, a slice of the server's validated configuration. */
export interface ApiConfig {
  corsOrigins: readonly string[];
  /**
   * AUTH_REQUIRE_EMAIL_VERIFICATION: a user who has not confirmed their email may sign in and read, but
   * every mutation outside `auth.*` answers FORBIDDEN with `details.reason = "emailNotVerified"`.
   */
  requireEmailVerification?: boolean;
  /** The sign-in providers configured (OAUTH_*), as auth.providers lists them; absent: none. */
  oauthProviders?: readonly { id: "github" | "google" | "oidc"; name: string }[];
}

/** The signed-in user and session of a request, resolved by the auth layer from a cookie or bearer token. */
export interface AuthState {
  user: {
    id: string;
    email: string;
    username: string;
    /** Whether the user has confirmed their email (resolveSession fills it in; absent counts as not). */
    emailVerified?: boolean;
  };
  session: { id: string; expiresAt: Date };
  /** How the request carried its session: a cookie (browsers; mutations then need an allowed Origin) or a bearer token. */
  via?: "cookie" | "bearer";
}

/**
 * What auth procedures need from the transport, without seeing it: the server sets and clears the
 * browser's session cookie. Absent for in-process callers (tests, scripts).
 */
export interface SessionTransport {
  setSessionCookie(token: string, expiresAt: Date): void;
  clearSessionCookie(): void;
}

/** The auth actions limited per IP (each its own budget). */
export type AuthRateLimitedAction = "register" | "login" | "refresh" | "accountToken";

/**
 * Rate limits of the auth procedures, kept by the server (per IP and per account, memory or Redis).
 * Over a limit, each method throws TOO_MANY_REQUESTS with the seconds to wait (sent as `Retry-After`).
 * Absent for in-process callers.
 */
export interface AuthRateLimits {
  /** Counts one attempt of `action` from this request's IP. */
  attempt(action: AuthRateLimitedAction): Promise<void>;
  /**
   * Takes one of the account's failed logins of the window before its password is checked (refusing when none
   * is left, so concurrent guesses cannot check more passwords than the limit); `succeeded()` gives it back once
   * the password proved right, so only failures use the budget.
   */
  takeAccountAttempt(accountKey: string): Promise<AccountAttempt>;
  /**
   * Counts one mail about to be sent to `address` (a password reset, a verification, an email change) against
   * this IP's mail budget and the address's, whether or not an account has that address.
   */
  attemptMail(address: string): Promise<void>;
}

/** One login attempt counted against an account; see AuthRateLimits.takeAccountAttempt. */
export interface AccountAttempt {
  succeeded(): Promise<void>;
}

/** The inner context: everything a procedure may use, with no HTTP objects in it. */
export interface ApiContext {
  db: PrismaClient;
  clock: Clock;
  config: ApiConfig;
  request: RequestInfo;
  events: ChangeEvents;
  auth: AuthState | null;
  /** Set by the HTTP server; see SessionTransport. */
  transport?: SessionTransport;
  /** Set by the HTTP server; see AuthRateLimits. */
  rateLimits?: AuthRateLimits;
  /** Reports a failure that a procedure answers without throwing (one failed mutation of a push); set by the server. */
  reportError?: (error: unknown, message: string) => void;
  /** Told the results of every sync.push (the server counts them by status); set by the server. */
  countPushResults?: (results: readonly PushResult[]) => void;
  /** Sends the account mails; absent, the mail flows answer "mailNotConfigured". Set by the server. */
  mail?: MailService;
  /** Set by the HTTP server, one per process; absent for in-process callers, whose imports are not limited. */
  importLimiter?: ImportLimiter;
}
