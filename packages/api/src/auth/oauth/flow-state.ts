// A sign-in in progress, carried by the browser between /start and /callback in the `pb_oauth` cookie: JSON,
// base64url, with an HMAC-SHA-256 over it under the server's OAUTH_STATE_SECRET. Any replica holding the
// secret can check it, so nothing is kept server-side. HttpOnly and SameSite=Lax (set by the server), so a
// page cannot read it and a cross-site callback forged without the browser's own start finds no matching one.
import { createHmac, timingSafeEqual } from "node:crypto";
import { encodeBase64urlNoPadding } from "@oslojs/encoding";

import type { OAuthProviderId } from "./schemas.ts";

export const FLOW_COOKIE = "pb_oauth";
export const FLOW_COOKIE_PATH = "/api/auth/oauth";
export const FLOW_TTL_MS = 10 * 60_000;

export interface FlowState {
  provider: OAuthProviderId;
  /** The state, PKCE verifier and nonce this server sent the provider. */
  state: string;
  codeVerifier: string;
  nonce: string;
  /** Where the flow ends: the same-site web app (a path of APP_URL), or an app's redirect URI (code flow). */
  returnTo?: string;
  redirectUri?: string;
  codeChallenge?: string;
  appState?: string;
  /** Linking a provider to this signed-in user instead of signing in. */
  linkUserId?: string;
  /** Epoch milliseconds after which the flow is refused. */
  expiresAt: number;
}

export function randomValue(bytes = 32): string {
  return encodeBase64urlNoPadding(crypto.getRandomValues(new Uint8Array(bytes)));
}

function mac(secret: string, payload: string): Buffer {
  return createHmac("sha256", secret).update(payload).digest();
}

export function sealFlow(secret: string, flow: FlowState): string {
  const payload = Buffer.from(JSON.stringify(flow)).toString("base64url");
  return `${payload}.${mac(secret, payload).toString("base64url")}`;
}

/**
 * The flow in a cookie, when its MAC is right (an expired flow is answered too, so that its refusal can still
 * reach the app that started it); undefined for a missing, malformed or forged cookie.
 */
export function openFlow(secret: string, cookie: string | undefined): FlowState | undefined {
  if (!cookie || cookie.length > 8_192) return undefined;
  const [payload, signature, extra] = cookie.split(".");
  if (!payload || !signature || extra !== undefined) return undefined;
  const expected = mac(secret, payload);
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as FlowState;
  } catch {
    return undefined;
  }
}
