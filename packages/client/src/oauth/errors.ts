// Why a provider sign-in did not end in a session, as one error type for the browser and the desktop flows.

/**
 * The server's codes (the callback's `error=`): `access_denied` (cancelled at the provider), `invalid_state`,
 * `provider_error`, `email_unverified`, `link_required` (see `link`), `account_disabled`. The client's own:
 * `invalid_code` (the exchange was refused: expired, replayed, or not this app's), `timeout`, `aborted`,
 * `invalid_callback` (a callback with neither a code nor an error).
 */
export type OAuthSignInErrorCode =
  | "access_denied"
  | "invalid_state"
  | "provider_error"
  | "email_unverified"
  | "link_required"
  | "account_disabled"
  | "identity_taken"
  | "invalid_code"
  | "timeout"
  | "aborted"
  | "invalid_callback"
  // A code a newer server may send: shown as is rather than lost.
  | (string & {});

export class OAuthSignInError extends Error {
  override readonly name = "OAuthSignInError";
  constructor(
    readonly code: OAuthSignInErrorCode,
    /**
     * With `link_required`: the one-time link token for `auth.oauthLink({ link, password })` or
     * `auth.requestOAuthLinkMail({ link })` — the provider's email belongs to an existing account.
     */
    readonly link: string | null = null,
    options?: { cause?: unknown },
  ) {
    super(MESSAGES[code] ?? `Sign-in with the provider failed (${code})`, options);
  }
}

const MESSAGES: Record<string, string> = {
  access_denied: "Sign-in was cancelled at the provider",
  invalid_state: "The sign-in could not be matched to this app's request; start it again",
  provider_error: "The provider's answer was refused",
  email_unverified: "The provider has not verified this email address",
  link_required: "An account with this email exists: confirm it is yours to link the provider",
  account_disabled: "This account is disabled",
  identity_taken: "This provider account is already linked to another account",
  invalid_code: "The sign-in code was refused (expired or already used); start again",
  timeout: "Sign-in took too long; start it again",
  aborted: "Sign-in was cancelled",
  invalid_callback: "The sign-in callback carried neither a code nor an error",
};
