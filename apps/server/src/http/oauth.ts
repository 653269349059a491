// The browser-navigated half of provider sign-in: GET /api/auth/oauth/:provider/start sends the browser to the
// provider with this server's state, PKCE verifier and nonce kept in a signed cookie; GET …/callback checks
// them, redeems the code, and signs in (same-site web app: the session cookie; an app: a one-time code sent to
// its redirect URI). Every target is vetted at /start, so no answer ever redirects anywhere unvetted.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

import {
  AppError,
  appRedirectAllowed,
  constantTimeEqual,
  createOAuthProviders,
  FLOW_COOKIE,
  FLOW_COOKIE_PATH,
  FLOW_TTL_MS,
  issueSignInCode,
  OAUTH_PROVIDER_IDS,
  openFlow,
  ProviderError,
  randomValue,
  resolveProviderSignIn,
  resolveSession,
  returnPathAllowed,
  sealFlow,
  signInUser,
  useLinkTicket,
  type AuthDeps,
  type ChangeEvents,
  type Clock,
  type FlowState,
  type GitHubUrls,
  type MailService,
  type OAuthFlowError,
  type OAuthProvider,
  type OAuthProviderId,
} from "@prompt-booster/api";
import type { Database } from "@prompt-booster/db";

import type { Config } from "../config.ts";
import { sendError } from "./errors.ts";
import type { AuthRateLimiter } from "./rate-limit.ts";
import { cookieTransport, sessionCookieName } from "./session-transport.ts";

interface OAuthRouteDeps {
  config: Config;
  db: Database;
  clock: Clock;
  events: ChangeEvents;
  rateLimiter?: AuthRateLimiter;
  mail?: MailService;
  /** Tests hand in their own fetch; the providers' discovery, JWKS and token requests go through it. */
  fetch?: typeof fetch;
  /** Tests point GitHub's endpoints at a stand-in on loopback; GitHub's own otherwise. */
  githubUrls?: GitHubUrls | undefined;
}

/** The providers configured, as auth.providers lists them. */
export function configuredProviders(config: Config): { id: OAuthProviderId; name: string }[] {
  const { github, google, oidc } = config.oauth.providers;
  return [
    ...(github ? [{ id: "github" as const, name: "GitHub" }] : []),
    ...(google ? [{ id: "google" as const, name: "Google" }] : []),
    ...(oidc ? [{ id: "oidc" as const, name: oidc.name }] : []),
  ];
}

interface StartQuery {
  return_to?: string;
  redirect_uri?: string;
  code_challenge?: string;
  state?: string;
  link?: string;
  link_ticket?: string;
}

interface CallbackQuery {
  state?: string;
  code?: string;
  error?: string;
  iss?: string;
}

export function registerOAuthRoutes(app: FastifyInstance, deps: OAuthRouteDeps): void {
  const { config } = deps;
  const providers = createOAuthProviders(config.oauth.providers, {
    allowHttp: config.oauth.allowHttpIssuer,
    fetch: deps.fetch,
    githubUrls: deps.githubUrls,
  });
  const secret = config.oauth.stateSecret;
  const cookieName = sessionCookieName(config);
  const flowCookie = { path: FLOW_COOKIE_PATH, httpOnly: true, sameSite: "lax", secure: config.production } as const;

  const providerOf = (request: FastifyRequest): OAuthProvider | undefined => {
    const id = (request.params as { provider: string }).provider;
    return (OAUTH_PROVIDER_IDS as readonly string[]).includes(id) ? providers.get(id as OAuthProviderId) : undefined;
  };
  const notFound = (request: FastifyRequest, reply: FastifyReply) =>
    sendError(request, reply, new AppError("NOT_FOUND", "provider: no such sign-in provider is configured here"));
  const badRequest = (request: FastifyRequest, reply: FastifyReply, field: string, message: string) =>
    sendError(request, reply, new AppError("BAD_REQUEST", `${field}: ${message}`, { field }));

  /** The address providers send the browser back to: registered at each provider. */
  const callbackUrl = (request: FastifyRequest, provider: OAuthProviderId) =>
    `${config.oauth.publicUrl ?? `${request.protocol}://${request.host}`}/api/auth/oauth/${provider}/callback`;

  const authDeps = (request: FastifyRequest, reply: FastifyReply): AuthDeps => ({
    db: deps.db.prisma,
    clock: deps.clock,
    events: deps.events,
    device: { userAgent: request.headers["user-agent"] ?? null, ip: request.ip },
    limits: deps.rateLimiter?.forRequest(request, reply),
    mail: deps.mail,
    acceptLanguage: request.headers["accept-language"] ?? null,
  });

  app.get("/api/auth/oauth/:provider/start", async (request, reply) => {
    const provider = providerOf(request);
    if (!provider) return notFound(request, reply);
    const query = request.query as StartQuery;
    for (const [name, value] of Object.entries(query)) {
      if (typeof value !== "string") return badRequest(request, reply, name, "must be given once");
    }
    const flow: FlowState = {
      provider: provider.id,
      state: randomValue(),
      codeVerifier: randomValue(),
      nonce: randomValue(),
      expiresAt: deps.clock.now().getTime() + FLOW_TTL_MS,
    };
    if (query.redirect_uri !== undefined) {
      // The code flow (a desktop app, or a web app of another site).
      if (
        !appRedirectAllowed(query.redirect_uri, {
          corsOrigins: config.corsOrigins,
          desktopSchemes: config.oauth.desktopSchemes,
        })
      ) {
        return badRequest(
          request,
          reply,
          "redirect_uri",
          "must be http://127.0.0.1:<port>/… or http://[::1]:<port>/…, a scheme in OAUTH_DESKTOP_SCHEMES, or a page of an origin in CORS_ORIGINS",
        );
      }
      if (!/^[A-Za-z0-9_-]{43}$/.test(query.code_challenge ?? "")) {
        return badRequest(
          request,
          reply,
          "code_challenge",
          "must be the S256 challenge of a PKCE verifier (43 base64url characters)",
        );
      }
      if (query.state === undefined || query.state.length > 500) {
        return badRequest(request, reply, "state", "is required with redirect_uri, at most 500 characters");
      }
      Object.assign(flow, {
        redirectUri: query.redirect_uri,
        codeChallenge: query.code_challenge,
        appState: query.state,
      });
    } else {
      const returnTo = query.return_to ?? "/";
      if (!returnPathAllowed(returnTo)) {
        return badRequest(request, reply, "return_to", "must be a path of the app, beginning with one '/'");
      }
      flow.returnTo = returnTo;
    }
    // Linking to the signed-in user: by the session cookie (same-site), or a ticket from auth.oauthLinkStart.
    if (query.link_ticket !== undefined) {
      const userId = await useLinkTicket({ db: deps.db.prisma, clock: deps.clock }, query.link_ticket);
      if (!userId)
        return sendError(
          request,
          reply,
          new AppError("UNAUTHORIZED", "link_ticket: not valid or expired; ask for a new one", {
            field: "link_ticket",
          }),
        );
      flow.linkUserId = userId;
    } else if (query.link !== undefined) {
      const token = request.cookies[cookieName];
      const session = token ? await resolveSession(deps.db.prisma, token, deps.clock.now()) : null;
      if (!session)
        return sendError(
          request,
          reply,
          new AppError("UNAUTHORIZED", "link: sign in first to link a provider", { field: "link" }),
        );
      flow.linkUserId = session.user.id;
    }
    let target: URL;
    try {
      target = await provider.authorizationUrl(flow, callbackUrl(request, provider.id));
    } catch (error) {
      // The provider's discovery failed: the vetted target hears of it.
      request.log.warn({ provider: provider.id, reason: reasonOf(error) }, "sign-in provider unreachable");
      return reply.redirect(refusalUrl(config, flow, "provider_error"), 302);
    }
    void reply.setCookie(FLOW_COOKIE, sealFlow(secret, flow), { ...flowCookie, maxAge: FLOW_TTL_MS / 1000 });
    return reply.header("cache-control", "no-store").redirect(target.href, 302);
  });

  app.get("/api/auth/oauth/:provider/callback", async (request, reply) => {
    const provider = providerOf(request);
    if (!provider) return notFound(request, reply);
    void reply.clearCookie(FLOW_COOKIE, flowCookie).header("cache-control", "no-store");
    const flow = openFlow(secret, request.cookies[FLOW_COOKIE]);
    // Nothing vetted to send the browser back to: answer here.
    if (!flow) {
      return sendError(
        request,
        reply,
        new AppError(
          "BAD_REQUEST",
          "state: this sign-in is no longer valid (invalid_state); start it again from the app",
          {
            field: "state",
            reason: "invalid_state",
          },
        ),
      );
    }
    const fail = (error: OAuthFlowError, link?: string) => reply.redirect(refusalUrl(config, flow, error, link), 302);
    const query = request.query as CallbackQuery;
    if (
      flow.provider !== provider.id ||
      flow.expiresAt <= deps.clock.now().getTime() ||
      typeof query.state !== "string" ||
      !constantTimeEqual(query.state, flow.state)
    ) {
      return fail("invalid_state");
    }
    if (query.error !== undefined) return fail(query.error === "access_denied" ? "access_denied" : "provider_error");
    if (typeof query.code !== "string" || query.code.length > 2_000) return fail("provider_error");

    const authDepsOfRequest = authDeps(request, reply);
    await authDepsOfRequest.limits?.attempt("login");
    let profile;
    try {
      profile = await provider.complete(query.code, flow, callbackUrl(request, provider.id), query.iss);
    } catch (error) {
      // What failed, never the code, tokens or the provider's words (which may echo them).
      request.log.info({ provider: provider.id, reason: reasonOf(error) }, "provider sign-in refused");
      return fail("provider_error");
    }
    const outcome = await resolveProviderSignIn(authDepsOfRequest, profile, { linkUserId: flow.linkUserId });
    if (!outcome.ok) return fail(outcome.error, outcome.link);
    if (flow.linkUserId !== undefined) return reply.redirect(successUrl(config, flow, { linked: provider.id }), 302);
    if (flow.redirectUri !== undefined && flow.codeChallenge !== undefined) {
      const code = await issueSignInCode(authDepsOfRequest, outcome.userId, {
        codeChallenge: flow.codeChallenge,
        redirectUri: flow.redirectUri,
      });
      return reply.redirect(successUrl(config, flow, { code }), 302);
    }
    const result = await signInUser(authDepsOfRequest, outcome.userId);
    cookieTransport(reply, cookieName, config.sessionCookie).setSessionCookie(result.token, result.expiresAt);
    return reply.redirect(successUrl(config, flow, {}), 302);
  });
}

/** The flow's vetted target with `params`: the app's redirect URI (with its state), or APP_URL + return_to. */
function targetUrl(config: Config, flow: FlowState, params: Record<string, string>): string {
  if (flow.redirectUri !== undefined) {
    const url = new URL(flow.redirectUri);
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    url.searchParams.set("state", flow.appState ?? "");
    return url.href;
  }
  const url = new URL(`${config.mail.appUrl}${flow.returnTo ?? "/"}`);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.href;
}

function refusalUrl(config: Config, flow: FlowState, error: OAuthFlowError, link?: string): string {
  const key = flow.redirectUri !== undefined ? "error" : "oauth_error";
  return targetUrl(config, flow, { [key]: error, ...(link ? { link } : {}) });
}

function successUrl(config: Config, flow: FlowState, params: Record<string, string>): string {
  const named = flow.redirectUri === undefined && params.linked ? { oauth_linked: params.linked } : params;
  return targetUrl(config, flow, named);
}

function reasonOf(error: unknown): string {
  return error instanceof ProviderError ? error.message : error instanceof Error ? error.name : "unknown";
}
