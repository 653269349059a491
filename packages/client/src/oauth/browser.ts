// Sign-in with GitHub, Google or the OpenID Connect provider from a web page.
//
// Same-site app (its pages may use the session cookie): navigate to providerSignInUrl(); the server sets the
// cookie and sends the browser back to APP_URL + returnTo. Cross-site app (bearer mode): beginProviderSignIn()
// keeps a PKCE verifier and a state in sessionStorage and sends the browser to the provider; the server
// redirects back to the app's redirectUri with a one-time code, which completeProviderSignIn() exchanges for
// the token. No token ever travels in a URL.
import type { ApiClient } from "../client.ts";
import type { AuthResult } from "../router-types.ts";
import { OAuthSignInError } from "./errors.ts";
import { exchangeCode, startUrl, type OAuthProvider } from "./exchange.ts";
import { constantTimeEqual, createPkce, randomToken } from "./pkce.ts";

/** The part of `sessionStorage` used here. */
export interface OAuthStateStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** The key under which beginProviderSignIn keeps its pending sign-in. */
export const OAUTH_PENDING_KEY = "prompt-booster:oauth-pending";

/** The page's globals (the package builds without the DOM's types). */
const page = globalThis as unknown as { sessionStorage?: OAuthStateStorage; location?: { assign(url: string): void } };

function defaultStorage(): OAuthStateStorage {
  if (!page.sessionStorage) throw new TypeError("No sessionStorage here: pass `storage`");
  return page.sessionStorage;
}

interface PendingSignIn {
  provider: OAuthProvider;
  state: string;
  verifier: string;
  redirectUri: string;
}

/**
 * Same-site web app: the URL to navigate to (a link or `location.assign`). After sign-in the browser lands on
 * the server's APP_URL + `returnTo` (a path, default `/`) signed in by cookie, or with `?oauth_error=<code>`
 * (and `&link=<token>` for `link_required`). With `link: true` a signed-in user links the provider to the
 * account instead (the session cookie says who): back with `?oauth_linked=<provider>` or `?oauth_error=…`.
 */
export function providerSignInUrl(
  baseUrl: string,
  provider: OAuthProvider,
  options: { returnTo?: string; link?: boolean } = {},
): string {
  return startUrl(baseUrl, provider, {
    ...(options.returnTo !== undefined && { return_to: options.returnTo }),
    ...(options.link && { link: "1" }),
  });
}

export interface BeginProviderSignInOptions {
  /** The app's own page that will call completeProviderSignIn: its origin must be in the server's CORS_ORIGINS. */
  redirectUri: string;
  /** Where the verifier waits for the redirect back; `sessionStorage` by default (this tab only). */
  storage?: OAuthStateStorage;
  /** `false`: only return the URL (the app navigates itself). Default: `location.assign(url)`. */
  navigate?: boolean;
}

/**
 * Cross-site web app: keeps a fresh PKCE verifier and state (a new call replaces an unfinished sign-in),
 * then sends the browser to the server's /start in code mode. Returns that URL.
 */
export async function beginProviderSignIn(
  baseUrl: string,
  provider: OAuthProvider,
  options: BeginProviderSignInOptions,
): Promise<string> {
  const storage = options.storage ?? defaultStorage();
  const { verifier, challenge } = await createPkce();
  const state = randomToken();
  const pending: PendingSignIn = { provider, state, verifier, redirectUri: options.redirectUri };
  storage.setItem(OAUTH_PENDING_KEY, JSON.stringify(pending));
  const url = startUrl(baseUrl, provider, { redirect_uri: options.redirectUri, code_challenge: challenge, state });
  if (options.navigate !== false) {
    if (!page.location) throw new TypeError("No location here: pass `navigate: false` and open the URL yourself");
    page.location.assign(url);
  }
  return url;
}

export interface CompleteProviderSignInOptions {
  /** The page's URL as the server redirected to it (`location.href`): `?code=…&state=…` or `?error=…&state=…`. */
  url: string | URL;
  storage?: OAuthStateStorage;
  deviceName?: string;
}

/**
 * On the redirectUri page: checks the state against the pending sign-in, exchanges the code with the kept
 * verifier (`auth.oauthExchange`; the client's token store gets the token) and forgets the pending sign-in,
 * whatever the outcome. Throws OAuthSignInError: the server's code (`access_denied`, `link_required` with
 * `link`, …), `invalid_state` (no pending sign-in in this tab, or another state), `invalid_code`.
 * Afterwards, take the code out of the address bar (`history.replaceState`).
 */
export async function completeProviderSignIn(
  client: ApiClient,
  options: CompleteProviderSignInOptions,
): Promise<AuthResult> {
  const storage = options.storage ?? defaultStorage();
  const pending = readPending(storage.getItem(OAUTH_PENDING_KEY));
  storage.removeItem(OAUTH_PENDING_KEY);
  const params = new URL(options.url).searchParams;
  if (!pending || !constantTimeEqual(params.get("state") ?? "", pending.state)) {
    throw new OAuthSignInError("invalid_state");
  }
  const error = params.get("error");
  if (error) throw new OAuthSignInError(error, params.get("link"));
  const code = params.get("code");
  if (!code) throw new OAuthSignInError("invalid_callback");
  return exchangeCode(client, {
    code,
    codeVerifier: pending.verifier,
    redirectUri: pending.redirectUri,
    ...(options.deviceName !== undefined && { deviceName: options.deviceName }),
  });
}

function readPending(text: string | null): PendingSignIn | null {
  if (!text) return null;
  try {
    const value = JSON.parse(text) as Partial<PendingSignIn>;
    return typeof value.state === "string" &&
      typeof value.verifier === "string" &&
      typeof value.redirectUri === "string"
      ? (value as PendingSignIn)
      : null;
  } catch {
    return null;
  }
}
