// What the HTTP server needs for the browser-navigated routes of the provider sign-in (/start, /callback).
export {
  createOAuthProviders,
  constantTimeEqual,
  ProviderError,
  PROVIDER_NAMES,
  type GitHubUrls,
  type OAuthProvider,
  type OAuthProvidersConfig,
  type ProviderProfile,
} from "./providers.ts";
export {
  FLOW_COOKIE,
  FLOW_COOKIE_PATH,
  FLOW_TTL_MS,
  openFlow,
  randomValue,
  sealFlow,
  type FlowState,
} from "./flow-state.ts";
export { appRedirectAllowed, returnPathAllowed } from "./redirects.ts";
export {
  issueSignInCode,
  resolveProviderSignIn,
  signInUser,
  useLinkTicket,
  type OAuthFlowError,
  type SignInOutcome,
} from "./service.ts";
export { OAUTH_PROVIDER_IDS, type OAuthProviderId } from "./schemas.ts";
export type { AuthDeps } from "../service.ts";
