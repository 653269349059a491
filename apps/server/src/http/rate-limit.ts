// Rate limits of register/login/refresh, of the mailed-token confirmations and of the account mails: fixed-window counters in Redis when configured (so several replicas
// share one count), in memory otherwise. The procedures call them through the transport-free AuthRateLimits
// interface; over the limit, the answer is TOO_MANY_REQUESTS with Retry-After.
//
// Not @fastify/rate-limit's stores: a login must take its attempt before the password is checked and give it
// back when the password was right, and those stores can only count up (unconditionally, so refused attempts
// would count too). Their child stores also named the Redis keys `<prefix>undefinedundefined-…` when created
// outside a route, and the memory store's LRU let 5,000 other keys evict an account's count.
import { createHash } from "node:crypto";
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Redis } from "ioredis";

import { AppError, type AuthRateLimitedAction, type AuthRateLimits } from "@prompt-booster/api";

import type { Config } from "../config.ts";

export interface AuthRateLimiter {
  /** The limits of one request, for its context. */
  forRequest(request: FastifyRequest, reply: FastifyReply): AuthRateLimits;
  close(): Promise<void>;
}

type Taken = { ok: true } | { ok: false; retryAfterMs: number };

/** Fixed-window counters; `take` compares and counts in one step, so concurrent callers cannot overshoot. */
interface Counters {
  /** Counts one against `key` unless `max` are already counted in its window. */
  take(key: string, max: number): Promise<Taken>;
  /** Gives one taken count back (nothing when the window has ended meanwhile). */
  giveBack(key: string): Promise<void>;
  close(): Promise<void>;
}

export async function registerAuthRateLimits(app: FastifyInstance, config: Config): Promise<AuthRateLimiter> {
  const { redisUrl, keyPrefix, windowMs, perIp, failedLoginsPerAccount, mailPerIp, mailPerAddress } = config.rateLimit;
  const counters = redisUrl
    ? redisCounters(redisUrl, keyPrefix, windowMs, app.log)
    : memoryCounters(windowMs, Date.now);

  const refuse = (reply: FastifyReply, retryAfterMs: number): never => {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    void reply.header("retry-after", String(seconds));
    throw new AppError("TOO_MANY_REQUESTS", `Too many attempts: try again in ${seconds} seconds`, {
      retryAfterSeconds: seconds,
    });
  };

  return {
    forRequest(request, reply) {
      return {
        async attempt(action: AuthRateLimitedAction) {
          const taken = await counters.take(`ip:${action}:${request.ip}`, perIp);
          if (!taken.ok) refuse(reply, taken.retryAfterMs);
        },
        async attemptMail(address) {
          const byIp = await counters.take(`ip:mail:${request.ip}`, mailPerIp);
          if (!byIp.ok) refuse(reply, byIp.retryAfterMs);
          const byAddress = await counters.take(`mail:${hashed(address)}`, mailPerAddress);
          if (!byAddress.ok) refuse(reply, byAddress.retryAfterMs);
        },
        async takeAccountAttempt(accountKey) {
          const key = `account:${hashed(accountKey)}`;
          const taken = await counters.take(key, failedLoginsPerAccount);
          if (!taken.ok) refuse(reply, taken.retryAfterMs);
          let givenBack = false;
          return {
            async succeeded() {
              if (givenBack) return;
              givenBack = true;
              await counters.giveBack(key);
            },
          };
        },
      };
    },
    close: () => counters.close(),
  };
}

/** Hashed: a key may hold an email address, which has no business sitting in Redis. */
const hashed = (value: string) => createHash("sha256").update(value).digest("base64url");

function memoryCounters(windowMs: number, now: () => number): Counters {
  const windows = new Map<string, { count: number; endsAt: number }>();
  // Ended windows are dropped at most once per window length, so the map holds about one window's keys.
  let nextSweepAt = now() + windowMs;
  const alive = (key: string, at: number) => {
    const window = windows.get(key);
    return window && window.endsAt > at ? window : undefined;
  };
  return {
    async take(key, max) {
      const at = now();
      if (at >= nextSweepAt) {
        for (const [k, window] of windows) if (window.endsAt <= at) windows.delete(k);
        nextSweepAt = at + windowMs;
      }
      const window = alive(key, at);
      if (!window) {
        windows.set(key, { count: 1, endsAt: at + windowMs });
        return { ok: true };
      }
      if (window.count >= max) return { ok: false, retryAfterMs: window.endsAt - at };
      window.count++;
      return { ok: true };
    },
    async giveBack(key) {
      const window = alive(key, now());
      if (window && window.count > 0) window.count--;
    },
    async close() {
      windows.clear();
    },
  };
}

// KEYS[1] the counter, ARGV[1] the window (ms), ARGV[2] the limit. Returns {1, 0} when counted, {0, ms left}
// when refused. A counter without an expiry (left by anything but this script) would refuse forever: give it one.
const takeScript = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[2]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
  end
  return {0, ttl}
end
if redis.call('INCR', KEYS[1]) == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return {1, 0}
`;

// DECR keeps the expiry; a counter that expired meanwhile is not brought back (as -1, without an expiry).
const giveBackScript = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 1 then
  redis.call('DECR', KEYS[1])
elseif count == 1 then
  redis.call('DEL', KEYS[1])
end
return 0
`;

type CounterRedis = Redis & {
  takeCount(key: string, windowMs: number, max: number): Promise<[number, number]>;
  giveBackCount(key: string): Promise<number>;
};

function redisCounters(url: string, keyPrefix: string, windowMs: number, log: FastifyBaseLogger): Counters {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    connectTimeout: 5_000,
    keyPrefix,
  }) as CounterRedis;
  // Without a listener ioredis prints every reconnect failure to stderr; a failed command still rejects.
  redis.on("error", (error: Error) => log.warn({ err: error }, "rate-limit Redis connection failed"));
  redis.defineCommand("takeCount", { numberOfKeys: 1, lua: takeScript });
  redis.defineCommand("giveBackCount", { numberOfKeys: 1, lua: giveBackScript });
  return {
    async take(key, max) {
      const [counted, retryAfterMs] = await redis.takeCount(key, windowMs, max);
      return counted === 1 ? { ok: true } : { ok: false, retryAfterMs };
    },
    async giveBack(key) {
      await redis.giveBackCount(key);
    },
    async close() {
      await redis.quit();
    },
  };
}
