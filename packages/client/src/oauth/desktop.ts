// Sign-in with GitHub, Google or the OpenID Connect provider from a desktop app (RFC 8252): the system
// browser does the provider's sign-in, the server hands a one-time code back to a loopback listener of the
// app's, and the app exchanges it with its PKCE verifier for a token. Node only: from the ./electron entry.
import { createClient, type ApiClient, type ClientOptions } from "../client.ts";
import type { AuthResult } from "../router-types.ts";
import { OAuthSignInError } from "./errors.ts";
import { exchangeCode, startUrl, type OAuthProvider } from "./exchange.ts";
import { listenForCallback, type CallbackPage } from "./loopback.ts";
import { createPkce, randomToken } from "./pkce.ts";

export const DEFAULT_SIGN_IN_TIMEOUT_MS = 5 * 60_000;

export interface SignInWithProviderOptions {
  provider: OAuthProvider;
  /** The API's base URL; by default the client options' `url` (required when passing a client). */
  baseUrl?: string;
  /** Opens a URL in the system browser: Electron's `shell.openExternal` (never an embedded web view). */
  openExternal: (url: string) => Promise<void> | void;
  /** Names the new session in `auth.sessions.list`, as `login`'s `deviceName` does. */
  deviceName?: string;
  /** How long to wait for the browser to come back (default 5 minutes); then OAuthSignInError `timeout`. */
  timeoutMs?: number;
  /** Aborting it (the user closed the sign-in dialog) stops the wait: OAuthSignInError `aborted`. */
  signal?: AbortSignal;
  /** The page the browser tab shows once the app has its answer (HTML). */
  callbackPage?: CallbackPage;
}

/**
 * Signs in through the system browser and answers the `AuthResult` of `auth.oauthExchange` (the client's
 * token store already holds its token, as after `login`). Throws OAuthSignInError with the server's code
 * (`access_denied`, `link_required` with `link`, …) or the client's (`invalid_code`, `timeout`, `aborted`).
 */
export async function signInWithProvider(
  client: ApiClient | ClientOptions,
  options: SignInWithProviderOptions,
): Promise<AuthResult> {
  const api = isApiClient(client) ? client : createClient(client);
  const baseUrl = options.baseUrl ?? (isApiClient(client) ? undefined : client.url);
  if (!baseUrl) throw new TypeError("signInWithProvider: pass baseUrl along with a client");
  const { query, redirectUri, verifier } = await browserRoundTrip(baseUrl, options, {});
  const code = query.get("code");
  if (!code) throw new OAuthSignInError("invalid_callback");
  return exchangeCode(api, {
    code,
    codeVerifier: verifier,
    redirectUri,
    ...(options.deviceName !== undefined && { deviceName: options.deviceName }),
  });
}

export type LinkWithProviderOptions = Omit<SignInWithProviderOptions, "baseUrl" | "deviceName"> & { baseUrl: string };

/**
 * Links a provider to the signed-in account (a settings page's "Connect GitHub"): asks the server for a
 * one-time link ticket (`auth.oauthLinkStart`, with the client's session), then the same round trip through
 * the system browser. Resolves once the server has linked it; throws OAuthSignInError (`identity_taken`: that
 * provider account is another user's; `access_denied`, `timeout`, …).
 */
export async function linkWithProvider(client: ApiClient, options: LinkWithProviderOptions): Promise<void> {
  const { ticket } = await client.auth.oauthLinkStart.mutate();
  const { query } = await browserRoundTrip(options.baseUrl, options, { link_ticket: ticket });
  if (query.get("linked") !== options.provider) throw new OAuthSignInError("invalid_callback");
}

/**
 * Listens on the loopback interface, opens the server's /start in the system browser in code mode, and waits
 * for the callback carrying this round trip's state.
 */
async function browserRoundTrip(
  baseUrl: string,
  options: Omit<SignInWithProviderOptions, "baseUrl" | "deviceName">,
  extraQuery: Record<string, string>,
): Promise<{ query: URLSearchParams; redirectUri: string; verifier: string }> {
  const { verifier, challenge } = await createPkce();
  const state = randomToken();
  const listener = await listenForCallback({
    state,
    timeoutMs: options.timeoutMs ?? DEFAULT_SIGN_IN_TIMEOUT_MS,
    ...(options.signal && { signal: options.signal }),
    ...(options.callbackPage && { page: options.callbackPage }),
  });
  try {
    await options.openExternal(
      startUrl(baseUrl, options.provider, {
        redirect_uri: listener.redirectUri,
        code_challenge: challenge,
        state,
        ...extraQuery,
      }),
    );
  } catch (error) {
    listener.close();
    throw error;
  }
  return { query: await listener.result, redirectUri: listener.redirectUri, verifier };
}

/** The typed client is a function-shaped proxy; options are a plain object. */
function isApiClient(client: ApiClient | ClientOptions): client is ApiClient {
  return typeof client === "function";
}
