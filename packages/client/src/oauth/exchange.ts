// The last step of the code flows: the one-time code and this app's PKCE verifier for a session.
import type { ApiClient } from "../client.ts";
import type { AuthResult } from "../router-types.ts";
import { isUnauthorized } from "../session-link.ts";
import { OAuthSignInError } from "./errors.ts";

export type OAuthProvider = "github" | "google" | "oidc";

export interface ExchangeInput {
  code: string;
  codeVerifier: string;
  redirectUri: string;
  deviceName?: string;
}

/**
 * `auth.oauthExchange` through the app's client, so its token store gets the token as after `login`. A refused
 * code (expired, replayed, another verifier or redirect URI: the server does not say which) is an
 * OAuthSignInError `invalid_code`; anything else (network, server) is thrown as is.
 */
export async function exchangeCode(client: ApiClient, input: ExchangeInput): Promise<AuthResult> {
  try {
    return await client.auth.oauthExchange.mutate(input);
  } catch (error) {
    if (isUnauthorized(error)) throw new OAuthSignInError("invalid_code", null, { cause: error });
    throw error;
  }
}

/** `<baseUrl>/api/auth/oauth/<provider>/start?<query>`. */
export function startUrl(baseUrl: string, provider: OAuthProvider, query: Record<string, string>): string {
  const url = new URL(`${baseUrl.replace(/\/$/, "")}/api/auth/oauth/${encodeURIComponent(provider)}/start`);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  return url.toString();
}
