import type { CreateFastifyContextOptions } from "@trpc/server/adapters/fastify";

import type { ApiContext, ChangeEvents, Clock } from "@prompt-booster/api";
import type { Database } from "@prompt-booster/db";

import type { Config } from "../config.ts";

interface ContextDeps {
  config: Config;
  db: Database;
  clock: Clock;
  events: ChangeEvents;
}

/** The outer context: turns a Fastify request into the transport-free inner context of packages/api. */
export function createContextFactory({ config, db, clock, events }: ContextDeps) {
  const apiConfig = { production: config.production, corsOrigins: config.corsOrigins };
  return async ({ req }: Pick<CreateFastifyContextOptions, "req" | "res">): Promise<ApiContext> => ({
    db: db.prisma,
    clock,
    events,
    auth: null,
    config: apiConfig,
    request: {
      requestId: req.id,
      ip: req.ip,
      userAgent: req.headers["user-agent"] ?? null,
      origin: typeof req.headers.origin === "string" ? req.headers.origin : null,
    },
  });
}
