// The identity providers: GitHub (plain OAuth 2.0 with PKCE, arctic's generic client) and OpenID Connect (Google at
// https://accounts.google.com, or one generic issuer), found by discovery, their ID tokens checked against the
// issuer's JWKS with jose (issuer, audience, signature, expiry, nonce). Each sign-in ends as a ProviderProfile.
import { createHash, timingSafeEqual } from "node:crypto";
import { CodeChallengeMethod, OAuth2Client, OAuth2RequestError } from "arctic";
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";

import type { OAuthProviderId } from "./schemas.ts";

export interface OAuthClientConfig {
  clientId: string;
  clientSecret: string;
}

/** OAUTH_* settings: the providers that are configured (absent ones are off). */
export interface OAuthProvidersConfig {
  github?: OAuthClientConfig | undefined;
  google?: OAuthClientConfig | undefined;
  oidc?: (OAuthClientConfig & { issuer: string; name: string }) | undefined;
}

export const PROVIDER_NAMES: Record<OAuthProviderId, string> = {
  github: "GitHub",
  google: "Google",
  oidc: "OpenID Connect",
};

export const GOOGLE_ISSUER = "https://accounts.google.com";

/** What a provider says about the person who signed in. */
export interface ProviderProfile {
  provider: OAuthProviderId;
  providerUserId: string;
  email: string | null;
  /** The provider vouches that the person receives mail at `email`. */
  emailVerified: boolean;
  /** A username to derive ours from (preferred_username, GitHub login), when the provider has one. */
  usernameHint: string | null;
}

/** The provider refused the code, or its answer failed a check; `message` names the check, never a token. */
export class ProviderError extends Error {
  override name = "ProviderError";
}

export interface AuthorizationRequest {
  state: string;
  codeVerifier: string;
  nonce: string;
}

export interface OAuthProvider {
  id: OAuthProviderId;
  name: string;
  authorizationUrl(request: AuthorizationRequest, redirectUri: string): Promise<URL>;
  /** Redeems the code; `iss` is the authorization response's RFC 9207 issuer, when the provider sent one. */
  complete(
    code: string,
    request: AuthorizationRequest,
    redirectUri: string,
    iss: string | undefined,
  ): Promise<ProviderProfile>;
}

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  userinfo_endpoint?: string;
}

/**
 * An OpenID Connect provider. Discovery runs on first use and is kept (a failed one is tried again next time).
 * Plain-http issuers are for tests and development on loopback only: `allowHttp` (never in production).
 */
export function oidcProvider(
  id: "google" | "oidc",
  name: string,
  config: OAuthClientConfig & { issuer: string },
  options: { allowHttp: boolean; fetch?: typeof fetch },
): OAuthProvider {
  // Compared exactly as configured (OIDC Discovery §4.3): some issuers end in "/" (Authentik, GitLab, Hydra).
  const issuer = config.issuer;
  const discoveryUrl = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  const fetchFn = options.fetch ?? fetch;
  let discovered: Promise<{ discovery: Discovery; jwks: ReturnType<typeof createRemoteJWKSet> }> | undefined;

  const discover = () => {
    discovered ??= (async () => {
      const response = await fetchFn(discoveryUrl, {
        headers: { accept: "application/json" },
        signal: AbortSignal.timeout(10_000),
      });
      if (!response.ok) throw new ProviderError(`discovery answered ${response.status}`);
      const discovery = (await response.json()) as Discovery;
      // OIDC Discovery §4.3: the document must name the issuer it was fetched for (mix-up defence).
      if (discovery.issuer !== issuer) throw new ProviderError("discovery names another issuer");
      for (const endpoint of [discovery.authorization_endpoint, discovery.token_endpoint, discovery.jwks_uri]) {
        if (!safeEndpoint(endpoint, options.allowHttp)) throw new ProviderError("discovery lists an unsafe endpoint");
      }
      return { discovery, jwks: createRemoteJWKSet(new URL(discovery.jwks_uri)) };
    })();
    discovered.catch(() => (discovered = undefined));
    return discovered;
  };

  return {
    id,
    name,
    async authorizationUrl(request, redirectUri) {
      const { discovery } = await discover();
      const client = new OAuth2Client(config.clientId, config.clientSecret, redirectUri);
      const url = client.createAuthorizationURLWithPKCE(
        discovery.authorization_endpoint,
        request.state,
        CodeChallengeMethod.S256,
        request.codeVerifier,
        ["openid", "email", "profile"],
      );
      url.searchParams.set("nonce", request.nonce);
      return url;
    },
    async complete(code, request, redirectUri, iss) {
      const { discovery, jwks } = await discover();
      // RFC 9207: an authorization response that names its issuer must name this one.
      if (iss !== undefined && iss !== issuer)
        throw new ProviderError("the authorization response names another issuer");
      const client = new OAuth2Client(config.clientId, config.clientSecret, redirectUri);
      const tokens = await redeem(() =>
        client.validateAuthorizationCode(discovery.token_endpoint, code, request.codeVerifier),
      );
      let idToken: string;
      try {
        idToken = tokens.idToken();
      } catch {
        throw new ProviderError("the token answer has no ID token");
      }
      let claims: JWTPayload;
      try {
        ({ payload: claims } = await jwtVerify(idToken, jwks, {
          // Google documents both spellings of its issuer in ID tokens.
          issuer: id === "google" ? [issuer, "accounts.google.com"] : issuer,
          audience: config.clientId,
          algorithms: ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"],
          clockTolerance: 60,
          requiredClaims: ["sub", "exp", "iat"],
        }));
      } catch (error) {
        throw new ProviderError(`the ID token was refused: ${(error as { code?: string }).code ?? "invalid"}`);
      }
      // Several audiences: this client must be the authorized party (OIDC Core §3.1.3.7).
      if (Array.isArray(claims.aud) && claims.aud.length > 1 && claims.azp !== config.clientId) {
        throw new ProviderError("the ID token was refused: azp is another client");
      }
      if (typeof claims.nonce !== "string" || !constantTimeEqual(claims.nonce, request.nonce)) {
        throw new ProviderError("the ID token was refused: wrong nonce");
      }
      return profileFromClaims(id, claims);
    },
  };
}

/** The profile in ID token claims (OIDC Core §5.1). `email_verified` may be the string "true" (some providers). */
export function profileFromClaims(id: "google" | "oidc", claims: Record<string, unknown>): ProviderProfile {
  const email =
    typeof claims.email === "string" && claims.email.includes("@") ? claims.email.trim().toLowerCase() : null;
  const verified = claims.email_verified === true || claims.email_verified === "true";
  const hint =
    typeof claims.preferred_username === "string"
      ? claims.preferred_username
      : typeof claims.nickname === "string"
        ? claims.nickname
        : null;
  return {
    provider: id,
    providerUserId: String(claims.sub),
    email,
    emailVerified: email !== null && verified,
    usernameHint: hint,
  };
}

/** Where GitHub lives: its web host (authorization and token endpoints) and its REST API. */
export interface GitHubUrls {
  web: string;
  api: string;
}

/** GitHub's documented endpoints (docs.github.com, "Authorizing OAuth apps"), held here only. */
export const GITHUB_URLS: GitHubUrls = { web: "https://github.com", api: "https://api.github.com" };

/**
 * GitHub: plain OAuth 2.0 (no ID token) with PKCE S256 (accepted on OAuth apps since July 2025), so the code is
 * bound to our verifier as well as to the state. The person is `GET /user`, the address the verified primary of
 * `/user/emails`. `urls` moves the endpoints elsewhere (tests' stand-in for GitHub; set only in code).
 */
export function githubProvider(
  config: OAuthClientConfig,
  options: { fetch?: typeof fetch | undefined; urls?: GitHubUrls | undefined } = {},
): OAuthProvider {
  const fetchFn = options.fetch ?? fetch;
  const { web, api: apiBase } = options.urls ?? GITHUB_URLS;
  const authorizationEndpoint = `${web}/login/oauth/authorize`;
  const tokenEndpoint = `${web}/login/oauth/access_token`;
  const api = async (path: string, accessToken: string): Promise<unknown> => {
    const response = await fetchFn(`${apiBase}${path}`, {
      headers: {
        authorization: `Bearer ${accessToken}`,
        accept: "application/vnd.github+json",
        "user-agent": "prompt-booster",
      },
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) throw new ProviderError(`GitHub ${path} answered ${response.status}`);
    return response.json();
  };
  return {
    id: "github",
    name: PROVIDER_NAMES.github,
    async authorizationUrl(request, redirectUri) {
      const client = new OAuth2Client(config.clientId, config.clientSecret, redirectUri);
      return client.createAuthorizationURLWithPKCE(
        authorizationEndpoint,
        request.state,
        CodeChallengeMethod.S256,
        request.codeVerifier,
        ["read:user", "user:email"],
      );
    },
    async complete(code, request, redirectUri) {
      const client = new OAuth2Client(config.clientId, config.clientSecret, redirectUri);
      // arctic asks for JSON (Accept: application/json), which GitHub otherwise answers form-encoded.
      const tokens = await redeem(() => client.validateAuthorizationCode(tokenEndpoint, code, request.codeVerifier));
      // GitHub refuses a code (bad_verification_code, a wrong code_verifier…) with HTTP 200 and an `error`
      // field, which arctic's generic client hands back as tokens.
      const answer = tokens.data as { error?: unknown; access_token?: unknown };
      if (typeof answer.error === "string") {
        throw new ProviderError(`the provider refused the code: ${answer.error.slice(0, 100)}`);
      }
      if (typeof answer.access_token !== "string" || answer.access_token === "") {
        throw new ProviderError("the token answer has no access token");
      }
      const accessToken = answer.access_token;
      const [user, emails] = await Promise.all([api("/user", accessToken), api("/user/emails", accessToken)]);
      return githubProfile(user, emails);
    },
  };
}

/** GitHub's `GET /user` and `GET /user/emails` answers as a profile: only a verified primary address counts. */
export function githubProfile(user: unknown, emails: unknown): ProviderProfile {
  const account = user as { id?: unknown; login?: unknown };
  if (typeof account?.id !== "number" && typeof account?.id !== "string") {
    throw new ProviderError("GitHub's /user has no id");
  }
  const list = Array.isArray(emails) ? (emails as { email?: unknown; primary?: unknown; verified?: unknown }[]) : [];
  const primary = list.find((entry) => entry?.primary === true && typeof entry.email === "string");
  const email = typeof primary?.email === "string" ? primary.email.trim().toLowerCase() : null;
  return {
    provider: "github",
    providerUserId: String(account.id),
    email,
    emailVerified: email !== null && primary?.verified === true,
    usernameHint: typeof account.login === "string" ? account.login : null,
  };
}

async function redeem<T>(exchange: () => Promise<T>): Promise<T> {
  try {
    return await exchange();
  } catch (error) {
    // The provider's error code only: its description may echo what was sent.
    if (error instanceof OAuth2RequestError) throw new ProviderError(`the provider refused the code: ${error.code}`);
    throw new ProviderError(`the code exchange failed: ${(error as Error).name}`);
  }
}

function safeEndpoint(endpoint: unknown, allowHttp: boolean): boolean {
  if (typeof endpoint !== "string" || !URL.canParse(endpoint)) return false;
  const url = new URL(endpoint);
  return url.protocol === "https:" || (allowHttp && url.protocol === "http:" && isLoopback(url.hostname));
}

export function isLoopback(hostname: string): boolean {
  return hostname === "127.0.0.1" || hostname === "[::1]" || hostname === "localhost";
}

/** Equal strings, compared in constant time (over their SHA-256, so lengths do not show either). */
export function constantTimeEqual(a: string, b: string): boolean {
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** The providers the config turns on, keyed by id. */
export function createOAuthProviders(
  config: OAuthProvidersConfig,
  options: { allowHttp: boolean; fetch?: typeof fetch; githubUrls?: GitHubUrls | undefined },
): Map<OAuthProviderId, OAuthProvider> {
  const providers = new Map<OAuthProviderId, OAuthProvider>();
  if (config.github) providers.set("github", githubProvider(config.github, { ...options, urls: options.githubUrls }));
  if (config.google) {
    providers.set(
      "google",
      oidcProvider("google", PROVIDER_NAMES.google, { ...config.google, issuer: GOOGLE_ISSUER }, options),
    );
  }
  if (config.oidc) providers.set("oidc", oidcProvider("oidc", config.oidc.name, config.oidc, options));
  return providers;
}
