// Keeps the app's token store in step with the server's answers, so the app never has to notice new tokens or
// ended sessions itself.
import { TRPCClientError, type TRPCLink } from "@trpc/client";
import { observable } from "@trpc/server/observable";

import type { AppRouter } from "./router-types.ts";

/** Where the desktop app keeps its session token (e.g. Electron `safeStorage`); may be async. */
export interface TokenStore {
  get(): string | null | undefined | Promise<string | null | undefined>;
  set(token: string): void | Promise<void>;
  clear(): void | Promise<void>;
}

/** Answers `{ token, … }`: the token to keep from now on. */
const SIGN_IN = new Set([
  "auth.register",
  "auth.login",
  "auth.refreshToken",
  "auth.resetPassword",
  "auth.oauthExchange",
  "auth.oauthLink",
  "auth.confirmOAuthLink",
]);
/** The session (or every session) is gone once these succeed. */
const SIGN_OUT = new Set(["auth.logout", "auth.logoutAll", "auth.deleteAccount"]);
/** A refused sign-in is a wrong password, not an ended session: the token held (if any) still works. */
const PUBLIC = new Set([
  "auth.register",
  "auth.login",
  "auth.resetPassword",
  "auth.oauthExchange",
  "auth.oauthLink",
  "auth.confirmOAuthLink",
]);

export function isUnauthorized(error: unknown): boolean {
  return error instanceof TRPCClientError && (error.data as { code?: string } | undefined)?.code === "UNAUTHORIZED";
}

function tokenOf(data: unknown): string | null {
  const token = (data as { token?: unknown } | null | undefined)?.token;
  return typeof token === "string" ? token : null;
}

/**
 * Stores the token of every sign-in, clears it on sign-out and on any UNAUTHORIZED answer (expired, revoked,
 * signed out elsewhere), and tells the app through `onSessionExpired`. The answer is handed on only once the
 * store has the new state, so a call made right after `await login(…)` already carries the new token.
 */
export function sessionLink(
  tokens: TokenStore | null,
  onSessionExpired: (() => void) | undefined,
): TRPCLink<AppRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        // Store updates finish in order, and before the answer they belong to is handed on.
        let settled: Promise<unknown> = Promise.resolve();
        // Nothing reaches the app after it unsubscribed (a stopped SyncEngine), even what was waiting on the store.
        let stopped = false;
        const after = (update: (() => void | Promise<void>) | null, handOn: () => void) => {
          settled = settled.then(update).then(
            () => stopped || handOn(),
            (error: unknown) => stopped || observer.error(TRPCClientError.from(toError(error))),
          );
        };
        const subscription = next(op).subscribe({
          next(value) {
            const data = "data" in value.result ? value.result.data : undefined;
            const token = SIGN_IN.has(op.path) ? tokenOf(data) : null;
            const update = !tokens
              ? null
              : token
                ? () => tokens.set(token)
                : SIGN_OUT.has(op.path)
                  ? () => tokens.clear()
                  : null;
            after(update, () => observer.next(value));
          },
          complete: () => after(null, () => observer.complete()),
          error(error) {
            const ended = isUnauthorized(error) && !PUBLIC.has(op.path);
            after(ended && tokens ? () => tokens.clear() : null, () => {
              if (ended) onSessionExpired?.();
              observer.error(error);
            });
          },
        });
        return () => {
          stopped = true;
          subscription.unsubscribe();
        };
      });
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
