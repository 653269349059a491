// The typed client of the Prompt Booster API for the web app (cookie session) and the desktop app (bearer
// token from a store the app provides). Only the router's *types* come from @prompt-booster/api.
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink, type TRPCClient } from "@trpc/client";
import { EventSource as FetchEventSource } from "eventsource";
import superjson from "superjson";

import type { AppRouter } from "./router-types.ts";
import { sessionLink, type TokenStore } from "./session-link.ts";

export type ClientAuth =
  /** Browsers: the server's httpOnly session cookie, sent with `credentials: 'include'`. */
  | { mode: "cookie" }
  /** Apps that hold the token themselves: sent as `Authorization: Bearer …`, never in a URL. */
  | {
      mode: "bearer";
      /**
       * Gets every sign-in's token (`register`, `login`, `refreshToken`, `resetPassword`); cleared on sign-out
       * and on UNAUTHORIZED.
       */
      tokens: TokenStore;
    };

export interface ClientOptions {
  /** The API's base URL, e.g. `https://api.example.com` (tRPC is served under `/trpc`). */
  url: string;
  auth: ClientAuth;
  /**
   * Called once per failing call answered UNAUTHORIZED: the session ended; show the sign-in screen. (A refused
   * `login` or `register` is a wrong password or name, not an ended session: it neither calls this nor clears
   * the token store.)
   */
  onSessionExpired?: () => void;
  /** Calls per HTTP batch; keep at or below the server's TRPC_MAX_BATCH_SIZE (25 by default). */
  maxBatchSize?: number;
  /** Longest GET URL a batch may make before it is split (proxies commonly allow 8 KB). */
  maxURLLength?: number;
  /** A fetch to use instead of the global one. */
  fetch?: typeof fetch;
}

export const DEFAULT_MAX_BATCH_SIZE = 20;
export const DEFAULT_MAX_URL_LENGTH = 4_000;

export type ApiClient = TRPCClient<AppRouter>;

export function createClient(options: ClientOptions): ApiClient {
  const url = `${options.url.replace(/\/$/, "")}/trpc`;
  const baseFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const { auth } = options;

  const bearer = async (): Promise<Record<string, string>> => {
    if (auth.mode !== "bearer") return {};
    const token = await auth.tokens.get();
    return token ? { authorization: `Bearer ${token}` } : {};
  };
  const withAuth: typeof fetch = async (input, init) =>
    auth.mode === "cookie"
      ? baseFetch(input, { ...init, credentials: "include" })
      : baseFetch(input, { ...init, headers: { ...toRecord(init?.headers), ...(await bearer()) } });

  // A browser's own EventSource sends the cookie (withCredentials) but cannot send headers; for bearer
  // mode (and runtimes without EventSource) a fetch-based one carries the Authorization header.
  const nativeEventSource = (globalThis as unknown as { EventSource?: typeof FetchEventSource }).EventSource;
  const subscriptions =
    auth.mode === "cookie" && nativeEventSource
      ? httpSubscriptionLink<AppRouter, typeof FetchEventSource>({
          url,
          transformer: superjson,
          EventSource: nativeEventSource,
          eventSourceOptions: { withCredentials: true },
        })
      : httpSubscriptionLink<AppRouter, typeof FetchEventSource>({
          url,
          transformer: superjson,
          EventSource: FetchEventSource,
          eventSourceOptions: { fetch: withAuth, withCredentials: auth.mode === "cookie" },
        });

  return createTRPCClient<AppRouter>({
    links: [
      sessionLink(auth.mode === "bearer" ? auth.tokens : null, options.onSessionExpired),
      splitLink({
        condition: (op) => op.type === "subscription",
        true: subscriptions,
        false: httpBatchLink({
          url,
          transformer: superjson,
          maxItems: options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE,
          maxURLLength: options.maxURLLength ?? DEFAULT_MAX_URL_LENGTH,
          fetch: withAuth,
        }),
      }),
    ],
  });
}

function toRecord(headers: ConstructorParameters<typeof Headers>[0]): Record<string, string> {
  if (!headers) return {};
  return Object.fromEntries(new Headers(headers).entries());
}
