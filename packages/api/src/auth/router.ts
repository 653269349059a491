import { z } from "zod";

import type { ApiContext, AuthState } from "../context.ts";
import { serviceDeps } from "../lib/service.ts";
import { protectedProcedure, publicProcedure, router } from "../trpc.ts";
import * as accountMail from "./account-mail.ts";
import {
  zAuthResultOut,
  zChangeEmailInput,
  zChangePasswordInput,
  zCountOut,
  zDeleteAccountInput,
  zLoginInput,
  zMeOut,
  zOkOut,
  zProvidersOut,
  zRefreshTokenInput,
  zRegisterInput,
  zRequestPasswordResetInput,
  zResetPasswordInput,
  zRevokeSessionInput,
  zSessionOut,
  zVerifyEmailInput,
  zVerifyEmailOut,
  type AuthResult,
} from "./schemas.ts";
import * as auth from "./service.ts";
import * as oauth from "./oauth/service.ts";
import {
  zConfirmOAuthLinkInput,
  zIdentitiesOut,
  zOAuthExchangeInput,
  zOAuthLinkInput,
  zOAuthLinkStartOut,
  zRequestOAuthLinkMailInput,
  zUnlinkIdentityInput,
} from "./oauth/schemas.ts";

const tags = ["auth"];

/** The auth services' deps: a domain service's, plus the requesting device and the rate limits. */
function authDeps(ctx: ApiContext, deviceName?: string): auth.AuthDeps {
  return {
    ...serviceDeps(ctx),
    device: { userAgent: ctx.request.userAgent, ip: ctx.request.ip, deviceName },
    limits: ctx.rateLimits,
    mail: ctx.mail,
    acceptLanguage: ctx.request.acceptLanguage,
  };
}

const signedInAs = (ctx: { auth: AuthState }) => ({ userId: ctx.auth.user.id, sessionId: ctx.auth.session.id });

/** Browsers keep the token in an HttpOnly cookie; every client also gets it in the answer. */
function signedIn(ctx: ApiContext, result: AuthResult): AuthResult {
  ctx.transport?.setSessionCookie(result.token, result.expiresAt);
  return result;
}

const sessionsRouter = router({
  /** The user's live sessions, most recently used first; `current` marks this request's. */
  list: protectedProcedure
    .input(z.void())
    .output(z.array(zSessionOut))
    .query(({ ctx }) => auth.listSessions(ctx.deps, signedInAs(ctx))),

  revoke: protectedProcedure
    .input(zRevokeSessionInput)
    .output(zOkOut)
    .mutation(async ({ ctx, input }) => {
      await auth.revokeSession(ctx.deps, ctx.auth.user.id, input.sessionId);
      void ctx.events.publishSessionsEnded({ userId: ctx.auth.user.id, revoked: [input.sessionId] });
      if (input.sessionId === ctx.auth.session.id) ctx.transport?.clearSessionCookie();
      return { ok: true as const };
    }),
});

export const authRouter = router({
  register: publicProcedure
    .meta({ openapi: { method: "POST", path: "/auth/register", tags, summary: "Create an account and sign in" } })
    .input(zRegisterInput)
    .output(zAuthResultOut)
    .mutation(async ({ ctx, input }) => {
      const deps = authDeps(ctx, input.deviceName);
      const result = await auth.register(deps, input);
      accountMail.mailVerificationAfterRegister(deps, result.user);
      return signedIn(ctx, result);
    }),

  login: publicProcedure
    .meta({ openapi: { method: "POST", path: "/auth/login", tags, summary: "Sign in with email or username" } })
    .input(zLoginInput)
    .output(zAuthResultOut)
    .mutation(async ({ ctx, input }) => signedIn(ctx, await auth.login(authDeps(ctx, input.deviceName), input))),

  refreshToken: protectedProcedure
    .meta({
      openapi: { method: "POST", path: "/auth/refresh-token", tags, protect: true, summary: "Rotate the token" },
    })
    .input(zRefreshTokenInput)
    .output(zAuthResultOut)
    .mutation(async ({ ctx, input }) => {
      const current = { ...signedInAs(ctx), user: ctx.auth.user };
      const result = await auth.refreshToken(authDeps(ctx), current, input?.deviceName);
      void ctx.events.publishSessionsEnded({ userId: ctx.auth.user.id, replaced: ctx.auth.session.id });
      return signedIn(ctx, result);
    }),

  logout: protectedProcedure
    .meta({ openapi: { method: "POST", path: "/auth/logout", tags, protect: true, summary: "End this session" } })
    .input(z.void())
    .output(zOkOut)
    .mutation(async ({ ctx }) => {
      await auth.logout(ctx.deps, ctx.auth.session.id);
      void ctx.events.publishSessionsEnded({ userId: ctx.auth.user.id, revoked: [ctx.auth.session.id] });
      ctx.transport?.clearSessionCookie();
      return { ok: true as const };
    }),

  logoutAll: protectedProcedure
    .input(z.void())
    .output(zCountOut)
    .mutation(async ({ ctx }) => {
      const revoked = await auth.logoutAll(ctx.deps, ctx.auth.user.id);
      void ctx.events.publishSessionsEnded({ userId: ctx.auth.user.id, allExcept: null });
      ctx.transport?.clearSessionCookie();
      return { revoked };
    }),

  me: protectedProcedure
    .meta({ openapi: { method: "GET", path: "/auth/me", tags, protect: true, summary: "The signed-in user" } })
    .input(z.void())
    .output(zMeOut)
    .query(async ({ ctx }) => ({ user: await auth.me(ctx.deps, ctx.auth.user.id), session: ctx.auth.session })),

  sessions: sessionsRouter,

  /** Requires the current password; ends every other session (the current one stays signed in). */
  changePassword: protectedProcedure
    .input(zChangePasswordInput)
    .output(zCountOut)
    .mutation(async ({ ctx, input }) => {
      const revoked = await auth.changePassword(authDeps(ctx), signedInAs(ctx), input);
      void ctx.events.publishSessionsEnded({ userId: ctx.auth.user.id, allExcept: ctx.auth.session.id });
      return { revoked };
    }),

  /** Which sign-in and mail features this server has on (mail flows are off without SMTP_URL in production). */
  providers: publicProcedure
    .meta({ openapi: { method: "GET", path: "/auth/providers", tags, summary: "Sign-in and mail features" } })
    .input(z.void())
    .output(zProvidersOut)
    .query(({ ctx }) => ({
      ...accountMail.providers(ctx.mail, ctx.config.requireEmailVerification === true),
      oauth: [...(ctx.config.oauthProviders ?? [])],
    })),

  /** The app flows' end: the one-time code from the callback, with the app's PKCE verifier, for a session. */
  oauthExchange: publicProcedure
    .meta({
      openapi: { method: "POST", path: "/auth/oauth/exchange", tags, summary: "Exchange a provider sign-in code" },
    })
    .input(zOAuthExchangeInput)
    .output(zAuthResultOut)
    .mutation(async ({ ctx, input }) =>
      signedIn(ctx, await oauth.exchangeCode(authDeps(ctx, input.deviceName), input)),
    ),

  /** Links the provider account of a `link_required` callback to the existing account, with its password. */
  oauthLink: publicProcedure
    .meta({ openapi: { method: "POST", path: "/auth/oauth/link", tags, summary: "Link a provider with the password" } })
    .input(zOAuthLinkInput)
    .output(zAuthResultOut)
    .mutation(async ({ ctx, input }) =>
      signedIn(ctx, await oauth.linkWithPassword(authDeps(ctx, input.deviceName), input)),
    ),

  /** Mails the existing account's address a link that confirms a `link_required` link without the password. */
  requestOAuthLinkMail: publicProcedure
    .input(zRequestOAuthLinkMailInput)
    .output(zOkOut)
    .mutation(async ({ ctx, input }) => {
      await oauth.requestLinkMail(authDeps(ctx), input.link);
      return { ok: true as const };
    }),

  /** The mailed link's token: links the provider account and signs in. */
  confirmOAuthLink: publicProcedure
    .input(zConfirmOAuthLinkInput)
    .output(zAuthResultOut)
    .mutation(async ({ ctx, input }) =>
      signedIn(ctx, await oauth.confirmLinkMail(authDeps(ctx, input.deviceName), input.token, input.deviceName)),
    ),

  /** A ticket for GET /api/auth/oauth/<provider>/start?link_ticket=… (linking from an app without the cookie). */
  oauthLinkStart: protectedProcedure
    .input(z.void())
    .output(zOAuthLinkStartOut)
    .mutation(({ ctx }) => oauth.issueLinkTicket(ctx.deps, ctx.auth.user.id)),

  /** The providers linked to the account, and whether it has a password. */
  identities: protectedProcedure
    .meta({
      openapi: { method: "GET", path: "/auth/identities", tags, protect: true, summary: "Linked sign-in providers" },
    })
    .input(z.void())
    .output(zIdentitiesOut)
    .query(({ ctx }) => oauth.listIdentities(ctx.deps, ctx.auth.user.id)),

  /** Refused (PRECONDITION_FAILED `lastSignInMethod`) when it would leave no way to sign in. */
  unlinkIdentity: protectedProcedure
    .meta({
      openapi: {
        method: "POST",
        path: "/auth/identities/unlink",
        tags,
        protect: true,
        summary: "Unlink a sign-in provider",
      },
    })
    .input(zUnlinkIdentityInput)
    .output(zOkOut)
    .mutation(async ({ ctx, input }) => {
      await oauth.unlinkIdentity(ctx.deps, ctx.auth.user.id, input.provider);
      return { ok: true as const };
    }),

  /** Mails a reset link if the address has an account; the answer is the same either way. */
  requestPasswordReset: publicProcedure
    .meta({
      openapi: { method: "POST", path: "/auth/password-reset/request", tags, summary: "Mail a password reset link" },
    })
    .input(zRequestPasswordResetInput)
    .output(zOkOut)
    .mutation(async ({ ctx, input }) => {
      await accountMail.requestPasswordReset(authDeps(ctx), input.email);
      return { ok: true as const };
    }),

  /** Sets a new password with a mailed token; ends every session of the account and signs in anew. */
  resetPassword: publicProcedure
    .meta({
      openapi: { method: "POST", path: "/auth/password-reset/confirm", tags, summary: "Reset the password" },
    })
    .input(zResetPasswordInput)
    .output(zAuthResultOut)
    .mutation(async ({ ctx, input }) => {
      const { result, sessionId } = await accountMail.resetPassword(authDeps(ctx), input);
      void ctx.events.publishSessionsEnded({ userId: result.user.id, allExcept: sessionId });
      return signedIn(ctx, result);
    }),

  /** Confirms the email (or an email change) with a mailed token; needs no session (any browser may open the link). */
  verifyEmail: publicProcedure
    .input(zVerifyEmailInput)
    .output(zVerifyEmailOut)
    .mutation(async ({ ctx, input }) => ({
      ok: true as const,
      ...(await accountMail.verifyEmail(authDeps(ctx), input.token)),
    })),

  /** Mails a new verification link to the signed-in user. */
  resendVerification: protectedProcedure
    .input(z.void())
    .output(zOkOut)
    .mutation(async ({ ctx }) => {
      await accountMail.resendVerification(authDeps(ctx), ctx.auth.user.id);
      return { ok: true as const };
    }),

  /** Requires the password; the new address applies once confirmed from the mail sent there. */
  changeEmail: protectedProcedure
    .input(zChangeEmailInput)
    .output(zOkOut)
    .mutation(async ({ ctx, input }) => {
      await accountMail.changeEmail(authDeps(ctx), signedInAs(ctx), input);
      return { ok: true as const };
    }),

  /** Requires the password; removes the user and every row they own. */
  deleteAccount: protectedProcedure
    .input(zDeleteAccountInput)
    .output(zOkOut)
    .mutation(async ({ ctx, input }) => {
      await auth.deleteAccount(authDeps(ctx), ctx.auth.user.id, input.password);
      void ctx.events.publishSessionsEnded({ userId: ctx.auth.user.id, allExcept: null });
      ctx.transport?.clearSessionCookie();
      return { ok: true as const };
    }),
});
