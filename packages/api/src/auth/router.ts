import { z } from "zod";

import type { ApiContext } from "../context.ts";
import { protectedProcedure, publicProcedure, router } from "../trpc.ts";
import {
  zAuthResultOut,
  zChangePasswordInput,
  zCountOut,
  zDeleteAccountInput,
  zLoginInput,
  zMeOut,
  zOkOut,
  zRefreshTokenInput,
  zRegisterInput,
  zRevokeSessionInput,
  zSessionOut,
  type AuthResult,
} from "./schemas.ts";
import * as auth from "./service.ts";

const tags = ["auth"];

function deps(ctx: ApiContext, deviceName?: string): auth.AuthDeps {
  return {
    db: ctx.db,
    now: ctx.clock.now(),
    device: { userAgent: ctx.request.userAgent, ip: ctx.request.ip, deviceName },
    limits: ctx.rateLimits,
  };
}

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
    .query(({ ctx }) => auth.listSessions(ctx.db, ctx.auth, ctx.clock.now())),

  revoke: protectedProcedure
    .input(zRevokeSessionInput)
    .output(zOkOut)
    .mutation(async ({ ctx, input }) => {
      await auth.revokeSession(ctx.db, ctx.auth.user.id, input.sessionId);
      ctx.events.publishSessionsEnded({ userId: ctx.auth.user.id, revoked: [input.sessionId] });
      if (input.sessionId === ctx.auth.session.id) ctx.transport?.clearSessionCookie();
      return { ok: true as const };
    }),
});

export const authRouter = router({
  register: publicProcedure
    .meta({ openapi: { method: "POST", path: "/auth/register", tags, summary: "Create an account and sign in" } })
    .input(zRegisterInput)
    .output(zAuthResultOut)
    .mutation(async ({ ctx, input }) => signedIn(ctx, await auth.register(deps(ctx, input.deviceName), input))),

  login: publicProcedure
    .meta({ openapi: { method: "POST", path: "/auth/login", tags, summary: "Sign in with email or username" } })
    .input(zLoginInput)
    .output(zAuthResultOut)
    .mutation(async ({ ctx, input }) => signedIn(ctx, await auth.login(deps(ctx, input.deviceName), input))),

  refreshToken: protectedProcedure
    .meta({
      openapi: { method: "POST", path: "/auth/refresh-token", tags, protect: true, summary: "Rotate the token" },
    })
    .input(zRefreshTokenInput)
    .output(zAuthResultOut)
    .mutation(async ({ ctx, input }) => {
      const result = await auth.refreshToken(deps(ctx), ctx.auth, input?.deviceName);
      ctx.events.publishSessionsEnded({ userId: ctx.auth.user.id, replaced: ctx.auth.session.id });
      return signedIn(ctx, result);
    }),

  logout: protectedProcedure
    .meta({ openapi: { method: "POST", path: "/auth/logout", tags, protect: true, summary: "End this session" } })
    .input(z.void())
    .output(zOkOut)
    .mutation(async ({ ctx }) => {
      await auth.logout(ctx.db, ctx.auth.session.id);
      ctx.events.publishSessionsEnded({ userId: ctx.auth.user.id, revoked: [ctx.auth.session.id] });
      ctx.transport?.clearSessionCookie();
      return { ok: true as const };
    }),

  logoutAll: protectedProcedure
    .input(z.void())
    .output(zCountOut)
    .mutation(async ({ ctx }) => {
      const revoked = await auth.logoutAll(ctx.db, ctx.auth.user.id);
      ctx.events.publishSessionsEnded({ userId: ctx.auth.user.id, allExcept: null });
      ctx.transport?.clearSessionCookie();
      return { revoked };
    }),

  me: protectedProcedure
    .meta({ openapi: { method: "GET", path: "/auth/me", tags, protect: true, summary: "The signed-in user" } })
    .input(z.void())
    .output(zMeOut)
    .query(({ ctx }) => auth.me(ctx.db, ctx.auth)),

  sessions: sessionsRouter,

  /** Requires the current password; ends every other session (the current one stays signed in). */
  changePassword: protectedProcedure
    .input(zChangePasswordInput)
    .output(zCountOut)
    .mutation(async ({ ctx, input }) => {
      const revoked = await auth.changePassword(deps(ctx), ctx.auth, input);
      ctx.events.publishSessionsEnded({ userId: ctx.auth.user.id, allExcept: ctx.auth.session.id });
      return { revoked };
    }),

  /** Requires the password; removes the user and every row they own. */
  deleteAccount: protectedProcedure
    .input(zDeleteAccountInput)
    .output(zOkOut)
    .mutation(async ({ ctx, input }) => {
      await auth.deleteAccount(deps(ctx), ctx.auth, input.password);
      ctx.events.publishSessionsEnded({ userId: ctx.auth.user.id, allExcept: null });
      ctx.transport?.clearSessionCookie();
      return { ok: true as const };
    }),
});
