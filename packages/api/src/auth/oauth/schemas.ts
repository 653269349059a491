import { z } from "zod";

import { OAUTH_PROVIDER_IDS, zDeviceName, zGivenPassword, zOAuthProviderId } from "../schemas.ts";

export { OAUTH_PROVIDER_IDS, zOAuthProviderId };
export type OAuthProviderId = z.infer<typeof zOAuthProviderId>;

/** A one-time value handed out by the flows: 256 bits in base64url (43 characters). */
const zOneTime = (what: string) =>
  z.string().trim().min(1, "is required").max(200, `must be at most 200 characters (a ${what} is 43)`);

/** RFC 7636 §4.1: 43 to 128 characters of [A-Za-z0-9-._~]. */
export const zCodeVerifier = z
  .string()
  .regex(
    /^[A-Za-z0-9\-._~]{43,128}$/,
    "must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~' (RFC 7636)",
  );

export const zOAuthExchangeInput = z.object({
  code: zOneTime("code"),
  codeVerifier: zCodeVerifier,
  redirectUri: z.string().min(1, "is required").max(2_000, "must be at most 2000 characters"),
  deviceName: zDeviceName,
});
export type OAuthExchangeInput = z.infer<typeof zOAuthExchangeInput>;

export const zOAuthLinkInput = z.object({
  link: zOneTime("link token"),
  password: zGivenPassword,
  deviceName: zDeviceName,
});
export type OAuthLinkInput = z.infer<typeof zOAuthLinkInput>;

export const zRequestOAuthLinkMailInput = z.object({ link: zOneTime("link token") });
export const zConfirmOAuthLinkInput = z.object({ token: zOneTime("token"), deviceName: zDeviceName });

export const zUnlinkIdentityInput = z.object({ provider: zOAuthProviderId });

export const zIdentitiesOut = z.object({
  identities: z.array(z.object({ provider: zOAuthProviderId, email: z.string().nullable(), linkedAt: z.date() })),
  /** Whether the account has a password (accounts made by a provider sign-in have none until a reset sets one). */
  hasPassword: z.boolean(),
});

export const zOAuthLinkStartOut = z.object({
  /** Pass as `link_ticket` to GET /api/auth/oauth/<provider>/start within `expiresAt`; single use. */
  ticket: z.string(),
  expiresAt: z.date(),
});
