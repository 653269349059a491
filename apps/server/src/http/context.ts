import type { CreateFastifyContextOptions } from "@trpc/server/adapters/fastify";

import {
  createImportLimiter,
  createSessionCache,
  resolveSession,
  databaseUnavailable,
  isDatabaseUnavailable,
  toTRPCError,
  type ApiContext,
  type ChangeEvents,
  type Clock,
  type MailService,
  type SessionCache,
  type SessionCacheOptions,
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
  /**
   * Validated sessions kept in memory for a few seconds (false: none). Only with events that tell it what
   * ended or changed (ChangeEvents.watchAuth), here and on every other process.
   */
  sessionCache?: SessionCacheOptions | false;
}

/** The outer context's factory; `sessionCache` is this process's cache of validated sessions (its `stats` count hits and misses). */
export interface ContextFactory {
  (opts: Pick<CreateFastifyContextOptions, "req" | "res">): Promise<ApiContext>;
  sessionCache: SessionCache | undefined;
}

/** The outer context: turns a Fastify request into the transport-free inner context of packages/api. */
export function createContextFactory(deps: ContextDeps): ContextFactory {
  const { config, db, clock, events, rateLimiter, mail, countPushResults } = deps;
  const apiConfig = {
    corsOrigins: config.corsOrigins,
    requireEmailVerification: config.mail.requireEmailVerification,
    oauthProviders: configuredProviders(config),
  };
  const cookieName = sessionCookieName(config);
  const importLimiter = createImportLimiter(config.imports);
  const sessionCache =
    deps.sessionCache === false || !events.watchAuth ? undefined : createSessionCache(deps.sessionCache);
  // Lives as long as the process's events (one per server): nothing to unsubscribe.
  if (sessionCache) events.watchAuth!((change) => sessionCache.apply(change));
  const createContext = async ({ req, res }: Pick<CreateFastifyContextOptions, "req" | "res">): Promise<ApiContext> => {
    const presented = readSessionToken(req, cookieName);
    // A database outage while resolving the session is a 503, like one inside a procedure.
    const resolved = presented
      ? await resolveSession(db.prisma, presented.token, clock.now(), sessionCache).catch((error: unknown) => {
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
  return Object.assign(createContext, { sessionCache });
}
