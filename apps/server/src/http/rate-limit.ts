// Rate limits of register/login/refresh, kept by @fastify/rate-limit's stores (Redis when configured, so
// several replicas share one count; memory otherwise). The procedures call these limiters through the
// transport-free AuthRateLimits interface; over the limit, the answer is TOO_MANY_REQUESTS with Retry-After.
import { createHash } from "node:crypto";
import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Redis } from "ioredis";

import { AppError, type AuthRateLimitedAction, type AuthRateLimits } from "@prompt-booster/api";

import type { Config } from "../config.ts";

type Limiter = ReturnType<FastifyInstance["createRateLimit"]>;
type LimitResult = Awaited<ReturnType<Limiter>>;

export interface AuthRateLimiter {
  /** The limits of one request, for its context. */
  forRequest(request: FastifyRequest, reply: FastifyReply): AuthRateLimits;
  close(): Promise<void>;
}

export async function registerAuthRateLimits(app: FastifyInstance, config: Config): Promise<AuthRateLimiter> {
  const { redisUrl, keyPrefix, windowMs, perIp, failedLoginsPerAccount } = config.rateLimit;
  const redis = redisUrl
    ? new Redis(redisUrl, { maxRetriesPerRequest: 2, enableOfflineQueue: true, connectTimeout: 5_000 })
    : undefined;
  // Only the limiters below count; no route is limited as a whole (a tRPC batch mixes procedures).
  await app.register(rateLimit, { global: false, redis, nameSpace: keyPrefix, timeWindow: windowMs });

  // A limiter's key comes from the request; the account a login names is only known inside the procedure.
  const accountOf = new WeakMap<FastifyRequest, string>();
  const ipLimiters = Object.fromEntries(
    (["register", "login", "refresh"] as const).map((action) => [
      action,
      app.createRateLimit({ max: perIp, timeWindow: windowMs, keyGenerator: (req) => `ip:${action}:${req.ip}` }),
    ]),
  ) as Record<AuthRateLimitedAction, Limiter>;
  const accountLimiter = app.createRateLimit({
    max: failedLoginsPerAccount,
    timeWindow: windowMs,
    keyGenerator: (req) => `account:${accountOf.get(req) ?? ""}`,
  });

  const refuse = (reply: FastifyReply, result: LimitResult & { isAllowed: false }): never => {
    const seconds = Math.max(1, result.ttlInSeconds);
    void reply.header("retry-after", String(seconds));
    throw new AppError("TOO_MANY_REQUESTS", `Too many attempts: try again in ${seconds} seconds`, {
      retryAfterSeconds: seconds,
    });
  };

  return {
    forRequest(request, reply) {
      const withAccount = (accountKey: string) =>
        // Hashed: the key may be an email address, which has no business sitting in Redis.
        accountOf.set(request, createHash("sha256").update(accountKey).digest("base64url"));
      return {
        async attempt(action) {
          const result = await ipLimiters[action](request);
          if (!result.isAllowed && result.isExceeded) refuse(reply, result);
        },
        async checkAccount(accountKey) {
          withAccount(accountKey);
          const result = await accountLimiter(request, { increment: false });
          if (!result.isAllowed && result.remaining <= 0) refuse(reply, result);
        },
        async failAccount(accountKey) {
          withAccount(accountKey);
          await accountLimiter(request);
        },
      };
    },
    async close() {
      await redis?.quit();
    },
  };
}
