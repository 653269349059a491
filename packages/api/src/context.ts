import type { PrismaClient } from "@prompt-booster/db";

import type { Clock } from "./lib/clock.ts";
import type { ChangeEvents } from "./lib/events.ts";

/** What the transport (apps/server) knows about the request; packages/api never sees Fastify. */
export interface RequestInfo {
  requestId: string;
  ip: string;
  userAgent: string | null;
  /** The Origin header, when the browser sent one. */
  origin: string | null;
}

/** Settings the procedures need, a slice of the server's validated configuration. */
export interface ApiConfig {
  production: boolean;
  corsOrigins: readonly string[];
}

/** The signed-in user and session of a request, resolved by the auth layer from a cookie or bearer token. */
export interface AuthState {
  user: { id: string; email: string; username: string };
  session: { id: string; expiresAt: Date };
}

/** The inner context: everything a procedure may use, with no HTTP objects in it. */
export interface ApiContext {
  db: PrismaClient;
  clock: Clock;
  config: ApiConfig;
  request: RequestInfo;
  events: ChangeEvents;
  auth: AuthState | null;
}
