import type { ApiContext } from "../context.ts";
import type { Clock } from "./clock.ts";
import type { WriteDeps } from "./write.ts";

/** What a domain service needs: the database, change events (through userWrite) and the clock. */
export interface ServiceDeps extends WriteDeps {
  clock: Clock;
}

/** The deps of a domain service, taken from the request's context: the one way routers call services. */
export function serviceDeps(ctx: ApiContext): ServiceDeps {
  return { db: ctx.db, clock: ctx.clock, events: ctx.events };
}
