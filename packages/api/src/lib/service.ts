import type { Clock } from "./clock.ts";
import type { WriteDeps } from "./write.ts";

/** What a domain service needs: the database, change events (through userWrite) and the clock. */
export interface ServiceDeps extends WriteDeps {
  clock: Clock;
}

/** Prisma's unique-constraint violation (P2002), e.g. two writers racing for one (groupId, number). */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === "P2002";
}
