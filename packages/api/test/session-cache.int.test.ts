// resolveSession with a cache answers exactly what it answers without one, on a real database: the hourly
// touch still happens (and what the cache then answers follows it), expiry is still decided by the database.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import {
  createSession,
  createSessionCache,
  resolveSession,
  SESSION_IDLE_MS,
  SESSION_TOUCH_INTERVAL_MS,
} from "../src/auth/session.ts";
import { manualClock } from "./support/context.ts";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.dispose());

async function signedIn(clock: { now(): Date }) {
  const suffix = crypto.randomUUID().slice(0, 8);
  const user = await t.db.prisma.user.create({
    data: {
      email: `c-${suffix}@example.com`,
      username: `c_${suffix}`,
      usernameKey: `c_${suffix}`,
      hashedPassword: "x",
    },
    select: { id: true },
  });
  const session = await createSession(t.db.prisma, user.id, clock.now(), { userAgent: null, ip: null });
  return { userId: user.id, ...session };
}

const row = (id: string) =>
  t.db.prisma.session.findUniqueOrThrow({ where: { id }, select: { expiresAt: true, lastUsedAt: true } });

describe("resolveSession with a cache", () => {
  it("answers from memory what the database read answers, and both the same as without a cache", async () => {
    const clock = manualClock();
    const cache = createSessionCache({ ttlMs: 10 * SESSION_TOUCH_INTERVAL_MS });
    const { token } = await signedIn(clock);
    const uncached = await resolveSession(t.db.prisma, token, clock.now());
    const read = await resolveSession(t.db.prisma, token, clock.now(), cache);
    clock.advance(1_000);
    const remembered = await resolveSession(t.db.prisma, token, clock.now(), cache);
    expect(read).toEqual(uncached);
    expect(remembered).toEqual(uncached);
    expect(cache.stats).toEqual({ hits: 1, misses: 1 });
  });

  it("still touches the session hourly, and the cached expiry follows the touch", async () => {
    const clock = manualClock();
    const cache = createSessionCache({ ttlMs: 10 * SESSION_TOUCH_INTERVAL_MS });
    const { token, sessionId } = await signedIn(clock);
    await resolveSession(t.db.prisma, token, clock.now(), cache);
    clock.advance(SESSION_TOUCH_INTERVAL_MS);
    const touched = await resolveSession(t.db.prisma, token, clock.now(), cache);
    const stored = await row(sessionId);
    expect(stored).toEqual({ lastUsedAt: clock.now(), expiresAt: new Date(clock.now().getTime() + SESSION_IDLE_MS) });
    expect(touched?.session.expiresAt).toEqual(stored.expiresAt);
    clock.advance(60_000);
    const after = await resolveSession(t.db.prisma, token, clock.now(), cache);
    expect(after?.session.expiresAt).toEqual(stored.expiresAt);
    expect(cache.stats).toEqual({ hits: 1, misses: 2 });
  });

  it("lets the database decide an expiry that is due: the session is deleted and refused", async () => {
    const clock = manualClock();
    const cache = createSessionCache({ ttlMs: 2 * SESSION_IDLE_MS });
    const { token, sessionId } = await signedIn(clock);
    await resolveSession(t.db.prisma, token, clock.now(), cache);
    // Idle past the expiry, with a time to live that would still cover it.
    clock.advance(SESSION_IDLE_MS);
    expect(await resolveSession(t.db.prisma, token, clock.now(), cache)).toBeNull();
    expect(await t.db.prisma.session.count({ where: { id: sessionId } })).toBe(0);
  });

  it("keeps no answer of a read that a signal overtook (the read may predate the change)", async () => {
    const clock = manualClock();
    const cache = createSessionCache();
    const { token, userId } = await signedIn(clock);
    const reading = resolveSession(t.db.prisma, token, clock.now(), cache);
    // The signal arrives while the query is in flight.
    cache.apply({ userId });
    expect(await reading).not.toBeNull();
    expect(cache.size).toBe(0);
    await resolveSession(t.db.prisma, token, clock.now(), cache);
    expect(cache.size).toBe(1);
  });
});
