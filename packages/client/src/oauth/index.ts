// The browser half of provider sign-in (the main entry); the desktop half is in ./desktop.ts (./electron).
export { beginProviderSignIn, completeProviderSignIn, OAUTH_PENDING_KEY, providerSignInUrl } from "./browser.ts";
export type { BeginProviderSignInOptions, CompleteProviderSignInOptions, OAuthStateStorage } from "./browser.ts";
export { OAuthSignInError } from "./errors.ts";
export type { OAuthSignInErrorCode } from "./errors.ts";
export type { OAuthProvider } from "./exchange.ts";
export { createPkce, pkceChallenge } from "./pkce.ts";
export type { PkcePair } from "./pkce.ts";
