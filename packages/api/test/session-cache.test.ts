// The session cache answers only what the database read it replaces would, and forgets on every signal.
import { describe, expect, it } from "vitest";

import {
  SESSION_IDLE_MS,
  SESSION_TOUCH_INTERVAL_MS,
  createSessionCache,
  type SessionCache,
} from "../src/auth/session.ts";
import { createLocalChangeEvents } from "../src/lib/events.ts";

const T0 = Date.UTC(2026, 0, 1);
const user = (id: string) => ({ id, email: `${id}@example.com`, username: id, emailVerified: true });

function put(cache: SessionCache, sessionId: string, userId: string, at = T0, epoch = cache.epoch) {
  cache.store(
    sessionId,
    {
      user: user(userId),
      expiresAt: new Date(at + SESSION_IDLE_MS),
      absoluteExpiresAt: new Date(at + 3 * SESSION_IDLE_MS),
      lastUsedAt: new Date(at),
      cachedAt: at,
    },
    epoch,
  );
}

describe("SessionCache", () => {
  it("answers a stored session as the read gave it, a copy each time", () => {
    const cache = createSessionCache();
    put(cache, "s1", "alice");
    const first = cache.lookup("s1", T0 + 1);
    expect(first).toEqual({ user: user("alice"), session: { id: "s1", expiresAt: new Date(T0 + SESSION_IDLE_MS) } });
    first!.user.email = "changed@example.com";
    expect(cache.lookup("s1", T0 + 2)?.user.email).toBe("alice@example.com");
    expect(cache.lookup("s2", T0 + 2)).toBeUndefined();
    expect(cache.stats).toEqual({ hits: 2, misses: 1 });
  });

  it("forgets every session of a user on a signal about them, and only theirs", () => {
    const cache = createSessionCache();
    put(cache, "a1", "alice");
    put(cache, "a2", "alice");
    put(cache, "b1", "bob");
    cache.apply({ userId: "alice" });
    expect(cache.lookup("a1", T0)).toBeUndefined();
    expect(cache.lookup("a2", T0)).toBeUndefined();
    expect(cache.lookup("b1", T0)?.user.id).toBe("bob");
  });

  it("does not keep a read that was in flight when a signal came (it may predate the change)", () => {
    const cache = createSessionCache();
    const epoch = cache.epoch;
    cache.apply({ userId: "someone" });
    put(cache, "s1", "alice", T0, epoch);
    expect(cache.lookup("s1", T0)).toBeUndefined();
  });

  it("answers nothing while signals cannot arrive, and starts empty when they can again", () => {
    const cache = createSessionCache();
    put(cache, "s1", "alice");
    cache.apply({ all: true, listening: false });
    expect(cache.lookup("s1", T0)).toBeUndefined();
    put(cache, "s2", "alice");
    expect(cache.size).toBe(0);
    cache.apply({ all: true, listening: true });
    put(cache, "s2", "alice");
    expect(cache.lookup("s2", T0)?.session.id).toBe("s2");
  });

  it("keeps an answer for the time to live only, and never for a clock that went back", () => {
    const cache = createSessionCache({ ttlMs: 5_000 });
    put(cache, "s1", "alice");
    expect(cache.lookup("s1", T0 + 4_999)).toBeDefined();
    expect(cache.lookup("s1", T0 + 5_000)).toBeUndefined();
    put(cache, "s2", "alice");
    expect(cache.lookup("s2", T0 - 1)).toBeUndefined();
  });

  it("reads again when the session's hourly touch or its expiry is due, so the database decides both", () => {
    const cache = createSessionCache({ ttlMs: 10 * SESSION_TOUCH_INTERVAL_MS });
    put(cache, "s1", "alice");
    expect(cache.lookup("s1", T0 + SESSION_TOUCH_INTERVAL_MS - 1)).toBeDefined();
    expect(cache.lookup("s1", T0 + SESSION_TOUCH_INTERVAL_MS)).toBeUndefined();
    const expired = createSessionCache({ ttlMs: 2 * SESSION_IDLE_MS });
    expired.store(
      "s2",
      {
        user: user("bob"),
        expiresAt: new Date(T0 + 1_000),
        absoluteExpiresAt: new Date(T0 + 2_000),
        lastUsedAt: new Date(T0),
        cachedAt: T0,
      },
      expired.epoch,
    );
    expect(expired.lookup("s2", T0 + 1_000)).toBeUndefined();
  });

  it("holds at most maxEntries, dropping the least recently used", () => {
    const cache = createSessionCache({ maxEntries: 2 });
    put(cache, "s1", "alice");
    put(cache, "s2", "bob");
    expect(cache.lookup("s1", T0)).toBeDefined();
    put(cache, "s3", "carol");
    expect(cache.size).toBe(2);
    expect(cache.lookup("s2", T0)).toBeUndefined();
    expect(cache.lookup("s1", T0)).toBeDefined();
    expect(cache.lookup("s3", T0)).toBeDefined();
    // The dropped session's user index went with it: a signal about bob finds nothing and breaks nothing.
    cache.apply({ userId: "bob" });
    expect(cache.size).toBe(2);
  });

  it("hears the in-process events: ended sessions of a user, a changed user", () => {
    const events = createLocalChangeEvents();
    const cache = createSessionCache();
    events.watchAuth((change) => cache.apply(change));
    put(cache, "a1", "alice");
    put(cache, "b1", "bob");
    put(cache, "c1", "carol");
    void events.publishSessionsEnded({ userId: "alice", revoked: ["a-other"] });
    events.publishUserChanged("bob");
    expect(cache.lookup("a1", T0)).toBeUndefined();
    expect(cache.lookup("b1", T0)).toBeUndefined();
    expect(cache.lookup("c1", T0)?.user.id).toBe("carol");
  });
});
