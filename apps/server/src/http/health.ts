import type { FastifyInstance } from "fastify";

import type { Database } from "@prompt-booster/db";

const READY_TIMEOUT_MS = 2_000;

export function registerHealthRoutes(app: FastifyInstance, db: Database): void {
  // Alive: the process answers. Never touches the database, so a database outage does not get the process killed.
  app.get("/health", { logLevel: "warn" }, async () => ({ status: "ok" }));

  // Ready: the database answers, within a bound; orchestrators stop routing here while it does not.
  app.get("/ready", { logLevel: "warn" }, async (request, reply) => {
    try {
      await withTimeout(db.ping(), READY_TIMEOUT_MS);
      return { status: "ready", database: db.provider };
    } catch (error) {
      request.log.warn({ err: error }, "database not reachable");
      return reply.code(503).send({ status: "unavailable", database: db.provider });
    }
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
