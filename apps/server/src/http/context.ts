import type { CreateFastifyContextOptions } from "@trpc/server/adapters/fastify";

import {
  createImportLimiter,
  resolveSession,
  databaseUnavailable,
  isDatabaseUnavailable,
  toTRPCError,
  type ApiContext,
  type ChangeEvents,
  type Clock,
  type MailService,
} from "@prompt-booster/api";
import type { Database } from "@prompt-booster/db";

import type { Config } from "../config.ts";
import { configuredProviders } from "./oauth.ts";
import type { AuthRateLimiter } from "./rate-limit.ts";
import { cookieTransport, readSessionToken, sessionCookieName } from "./session-transport.ts";

interface ContextDeps {
  config: Config;
  db: Database;
  clock: Clock;
  events: ChangeEvents;
  rateLimiter?: AuthRateLimiter;
  mail?: MailService;
  /** See ApiContext.countPushResults (metrics, when they are on). */
  countPushResults?: ApiContext["countPushResults"];
}

/** The outer context: turns a Fastify request into the transport-free inner context of packages/api. */
export function createContextFactory({ config, db, clock, events, rateLimiter, mail, countPushResults }: ContextDeps) {
  const apiConfig = {
    corsOrigins: config.corsOrigins,
    requireEmailVerification: config.mail.requireEmailVerification,
    oauthProviders: configuredProviders(config),
  };
  const cookieName = sessionCookieName(config);
  const importLimiter = createImportLimiter(config.imports);
  return async ({ req, res }: Pick<CreateFastifyContextOptions, "req" | "res">): Promise<ApiContext> => {
    const presented = readSessionToken(req, cookieName);
    // A database outage while resolving the session is a 503, like one inside a procedure.
    const resolved = presented
      ? await resolveSession(db.prisma, presented.token, clock.now()).catch((error: unknown) => {
          // Thrown outside any procedure, so as the TRPCError itself: tRPC answers with its status.
          throw isDatabaseUnavailable(error) ? toTRPCError(databaseUnavailable()) : error;
        })
      : null;
    return {
      db: db.prisma,
      clock,
      events,
      auth: resolved && presented ? { ...resolved, via: presented.via } : null,
      config: apiConfig,
      request: {
        requestId: req.id,
        ip: req.ip,
        userAgent: req.headers["user-agent"] ?? null,
        origin: typeof req.headers.origin === "string" ? req.headers.origin : null,
        acceptLanguage: req.headers["accept-language"] ?? null,
      },
      transport: cookieTransport(res, cookieName, config.sessionCookie),
      rateLimits: rateLimiter?.forRequest(req, res),
      reportError: (error, message) => req.log.error({ err: error }, message),
      importLimiter,
      mail,
      countPushResults,
    };
  };
}
