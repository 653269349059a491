// Inner contexts for integration tests: procedures called with createCaller against this file's real database.
import { randomUUID } from "node:crypto";

import type { Database } from "@prompt-booster/db";

import type { ApiContext, AuthState } from "../../src/context.ts";
import type { Clock } from "../../src/lib/clock.ts";
import { createLocalChangeEvents } from "../../src/lib/events.ts";
import { createCaller } from "../../src/root.ts";

/** A clock the test moves by hand. */
export function manualClock(start = new Date("2026-01-01T00:00:00Z")): Clock & { advance(ms: number): void } {
  let now = start.getTime();
  return { now: () => new Date(now), advance: (ms) => void (now += ms) };
}

export function testContext(db: Database, overrides: Partial<ApiContext> = {}): ApiContext {
  return {
    db: db.prisma,
    clock: { now: () => new Date() },
    config: { corsOrigins: ["http://app.test"] },
    request: { requestId: randomUUID(), ip: "127.0.0.1", userAgent: "vitest", origin: null },
    events: createLocalChangeEvents(),
    auth: null,
    ...overrides,
  };
}

/** A user row made directly in the database, and a caller signed in as that user. */
export async function userCaller(db: Database, overrides: Partial<ApiContext> = {}) {
  const suffix = randomUUID().slice(0, 8);
  const user = await db.prisma.user.create({
    data: {
      email: `user-${suffix}@example.com`,
      username: `user_${suffix}`,
      usernameKey: `user_${suffix}`,
      hashedPassword: "not-a-real-hash",
    },
    select: { id: true, email: true, username: true },
  });
  const auth: AuthState = { user, session: { id: `test-${suffix}`, expiresAt: new Date(Date.now() + 86_400_000) } };
  const ctx = testContext(db, { auth, ...overrides });
  return { user, ctx, caller: createCaller(ctx) };
}
