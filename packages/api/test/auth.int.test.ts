import { randomUUID } from "node:crypto";
import type { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";
import { hash } from "@node-rs/argon2";

import { PASSWORD_HASH_PARAMS } from "../src/auth/password.ts";
import { resolveSession, SESSION_TOUCH_INTERVAL_MS, sessionIdOf } from "../src/auth/session.ts";
import type { ApiContext } from "../src/context.ts";
import type { Clock } from "../src/lib/clock.ts";
import { createCaller } from "../src/root.ts";
import { manualClock, testContext } from "./support/context.ts";
import { expectAppError } from "./support/errors.ts";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.dispose());

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const anonymous = (overrides: Partial<ApiContext> = {}) => createCaller(testContext(t.db, overrides));

/** A caller as the server would build it for a request carrying `token`. */
async function callerWith(token: string, clock: Clock) {
  const auth = await resolveSession(t.db.prisma, token, clock.now());
  return createCaller(testContext(t.db, { clock, auth: auth && { ...auth, via: "bearer" } }));
}

function fresh() {
  const suffix = randomUUID().slice(0, 10);
  return {
    email: `Person-${suffix}@Example.COM`,
    username: `Person_${suffix}`,
    password: `a fine passphrase ${suffix}`,
  };
}

describe("register", () => {
  it("creates the user (normalised email, case-insensitive username) and default settings in one go", async () => {
    const input = fresh();
    const clock = manualClock();
    const result = await anonymous({ clock }).auth.register(input);
    expect(result.user.email).toBe(input.email.toLowerCase());
    expect(result.user.username).toBe(input.username);
    expect(result.expiresAt).toEqual(new Date(clock.now().getTime() + 30 * DAY));
    const row = await t.db.prisma.user.findUniqueOrThrow({ where: { id: result.user.id } });
    expect(row.usernameKey).toBe(input.username.toLowerCase());
    expect(row.hashedPassword).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const settings = await t.db.prisma.userSettings.findUniqueOrThrow({ where: { userId: result.user.id } });
    expect(settings).toMatchObject({ theme: "light", language: "en", settingsData: {} });
    expect(settings.rev).toBe(row.revision);
    expect(settings.rev).toBeGreaterThan(0);
  });

  it("refuses a taken email or username whatever its case, as CONFLICT naming the field", async () => {
    const input = fresh();
    await anonymous().auth.register(input);
    const sameEmail = await expectAppError(
      anonymous().auth.register({ ...fresh(), email: ` ${input.email.toUpperCase()} ` }),
      "CONFLICT",
    );
    expect(sameEmail.message).toMatch(/^email:/);
    const sameName = await expectAppError(
      anonymous().auth.register({ ...fresh(), username: input.username.toLowerCase() }),
      "CONFLICT",
    );
    expect(sameName.message).toMatch(/^username:/);
  });

  it("lets exactly one of two racing registrations of one email through", async () => {
    const input = fresh();
    const results = await Promise.allSettled([
      anonymous().auth.register(input),
      anonymous().auth.register({ ...fresh(), email: input.email }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const rejected = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect((rejected.reason as TRPCError).code).toBe("CONFLICT");
  });

  const long = (n: number) => "x".repeat(n);
  const badInputs: [string, Record<string, unknown>, string][] = [
    ["missing email", { email: undefined }, "email"],
    ["malformed email", { email: "not-an-email" }, "email"],
    ["email of wrong type", { email: 42 }, "email"],
    ["email too long", { email: `${long(250)}@example.com` }, "email"],
    ["missing username", { username: undefined }, "username"],
    ["username too short", { username: "ab" }, "username"],
    ["username too long", { username: long(33) }, "username"],
    ["username with a space", { username: "two words" }, "username"],
    ["username of wrong type", { username: ["a"] }, "username"],
    ["missing password", { password: undefined }, "password"],
    ["password too short", { password: "short1!" }, "password"],
    ["password too long", { password: long(257) }, "password"],
    ["common password", { password: "password123" }, "password"],
    ["common password, capitalised", { password: "Iloveyou1" }, "password"],
    ["password of wrong type", { password: 12345678 }, "password"],
    ["device name too long", { deviceName: long(101) }, "deviceName"],
  ];
  it.each(badInputs)("answers BAD_REQUEST naming the field for %s", async (_, change, field) => {
    const error = await expectAppError(anonymous().auth.register({ ...fresh(), ...change }), "BAD_REQUEST");
    expect(error.message).toContain(field);
  });
});

describe("login", () => {
  it("signs in by email or username, upgrades an old hash, refuses inactive users", async () => {
    const input = fresh();
    const { user } = await anonymous().auth.register(input);
    // A hash made with weaker (older) parameters is replaced at the next successful login.
    const weak = await hash(input.password, { algorithm: 2, memoryCost: 8_192, timeCost: 1, parallelism: 1 });
    await t.db.prisma.user.update({ where: { id: user.id }, data: { hashedPassword: weak } });
    await anonymous().auth.login({ email: input.email, password: input.password });
    const upgraded = await t.db.prisma.user.findUniqueOrThrow({ where: { id: user.id } });
    expect(upgraded.hashedPassword).toContain(`m=${PASSWORD_HASH_PARAMS.memoryCost},t=2,p=1`);

    const byName = await anonymous().auth.login({ username: input.username.toUpperCase(), password: input.password });
    expect(byName.user.id).toBe(user.id);

    await t.db.prisma.user.update({ where: { id: user.id }, data: { isActive: false } });
    await expectAppError(anonymous().auth.login({ email: input.email, password: input.password }), "FORBIDDEN");
    // Existing sessions of a deactivated user stop working too.
    expect(await resolveSession(t.db.prisma, byName.token, new Date())).toBeNull();
  });

  it("gives the same error for an unknown account and a wrong password", async () => {
    const input = fresh();
    await anonymous().auth.register(input);
    const wrong = await expectAppError(
      anonymous().auth.login({ email: input.email, password: "not the password" }),
      "UNAUTHORIZED",
    );
    const unknown = await expectAppError(
      anonymous().auth.login({ email: "nobody@example.com", password: "not the password" }),
      "UNAUTHORIZED",
    );
    expect(wrong.message).toBe(unknown.message);
  });

  it("needs exactly one of email and username, and bounded fields", async () => {
    for (const input of [
      { password: "whatever1" },
      { email: "a@example.com", username: "someone", password: "whatever1" },
      { email: "a@example.com", password: "" },
      { email: "a@example.com", password: "x".repeat(257) },
      { username: "x".repeat(33), password: "whatever1" },
    ]) {
      const error = await expectAppError(anonymous().auth.login(input), "BAD_REQUEST");
      expect(error.message).toMatch(/email|username|password/);
    }
  });
});

describe("sessions", () => {
  it("stores only the SHA-256 of the token", async () => {
    const { token, user } = await anonymous().auth.register(fresh());
    const rows = await t.db.prisma.session.findMany({ where: { userId: user.id } });
    expect(rows.map((row) => row.id)).toEqual([sessionIdOf(token)]);
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(token).toMatch(/^[a-z2-7]{32}$/); // 160 bits
    expect(await resolveSession(t.db.prisma, rows[0]!.id, new Date())).toBeNull();
  });

  it("slides the idle expiry at most once an hour, and refuses a session idle for 30 days", async () => {
    const clock = manualClock();
    const { token } = await anonymous({ clock }).auth.register(fresh());
    const id = sessionIdOf(token);
    const created = await t.db.prisma.session.findUniqueOrThrow({ where: { id } });

    clock.advance(30 * 60_000);
    await (await callerWith(token, clock)).auth.me();
    expect((await t.db.prisma.session.findUniqueOrThrow({ where: { id } })).expiresAt).toEqual(created.expiresAt);

    clock.advance(31 * 60_000);
    await (await callerWith(token, clock)).auth.me();
    const slid = await t.db.prisma.session.findUniqueOrThrow({ where: { id } });
    expect(slid.expiresAt).toEqual(new Date(clock.now().getTime() + 30 * DAY));
    expect(slid.lastUsedAt).toEqual(clock.now());

    clock.advance(30 * DAY - 1);
    expect((await (await callerWith(token, clock)).auth.me()).user.id).toBe(created.userId);
    clock.advance(30 * DAY);
    await expectAppError((await callerWith(token, clock)).auth.me(), "UNAUTHORIZED");
    expect(await t.db.prisma.session.count({ where: { id } })).toBe(0);
  });

  it("ends a session at the 90-day cap however often it is used, and refresh keeps the cap", async () => {
    const clock = manualClock();
    const start = clock.now().getTime();
    let { token } = await anonymous({ clock }).auth.register(fresh());
    for (let day = 20; day < 90; day += 20) {
      clock.advance(20 * DAY);
      ({ token } = await (await callerWith(token, clock)).auth.refreshToken());
    }
    clock.advance(start + 90 * DAY - 1 - clock.now().getTime());
    const last = await (await callerWith(token, clock)).auth.me();
    expect(last.session.expiresAt.getTime()).toBeLessThanOrEqual(start + 90 * DAY);
    clock.advance(1);
    await expectAppError((await callerWith(token, clock)).auth.me(), "UNAUTHORIZED");
  });

  it("lists sessions by last use, newest first, ties by id ascending", async () => {
    const clock = manualClock();
    const input = fresh();
    // Three sign-ins at the same instant of the clock the service reads: their lastUsedAt tie.
    const tokens = [(await anonymous({ clock }).auth.register(input)).token];
    for (let i = 0; i < 2; i += 1)
      tokens.push((await anonymous({ clock }).auth.login({ email: input.email, password: input.password })).token);
    const ids = tokens.map(sessionIdOf);
    const listed = async (token: string) =>
      (await (await callerWith(token, clock)).auth.sessions.list()).map((s) => s.id);
    expect(await listed(tokens[0]!)).toEqual([...ids].sort());
    // Used again once the touch interval has passed, one session moves to the front; the others keep the tie order.
    clock.advance(SESSION_TOUCH_INTERVAL_MS);
    const used = [...ids].sort().at(-1)!;
    expect(await listed(tokens[ids.indexOf(used)]!)).toEqual([used, ...[...ids].sort().slice(0, -1)]);
  });

  it("lists only the user's live sessions; revoking another user's session is NOT_FOUND", async () => {
    const clock = manualClock();
    const input = fresh();
    const first = await anonymous({ clock }).auth.register(input);
    clock.advance(31 * DAY);
    // The first session is now idle-expired; a second one is fresh.
    const second = await anonymous({ clock }).auth.login({ email: input.email, password: input.password });
    const caller = await callerWith(second.token, clock);
    const listed = await caller.auth.sessions.list();
    expect(listed.map((s) => s.id)).toEqual([sessionIdOf(second.token)]);
    expect(listed[0]!.current).toBe(true);
    expect(listed[0]).not.toHaveProperty("token");

    const other = await anonymous({ clock }).auth.register(fresh());
    await expectAppError(caller.auth.sessions.revoke({ sessionId: sessionIdOf(other.token) }), "NOT_FOUND");
    expect(await resolveSession(t.db.prisma, other.token, clock.now())).not.toBeNull();
    expect(await resolveSession(t.db.prisma, first.token, clock.now())).toBeNull();
  });
});

describe("protected procedures and cookies", () => {
  it("refuses a cookie-authenticated mutation from a foreign or missing Origin, not a query", async () => {
    const { token } = await anonymous().auth.register(fresh());
    const auth = await resolveSession(t.db.prisma, token, new Date());
    const viaCookie = (origin: string | null) =>
      createCaller(
        testContext(t.db, {
          auth: { ...auth!, via: "cookie" },
          request: { requestId: "r", ip: "127.0.0.1", userAgent: null, origin },
        }),
      );
    expect((await viaCookie(null).auth.me()).user).toBeDefined();
    await expectAppError(viaCookie("http://evil.test").auth.logout(), "FORBIDDEN");
    await expectAppError(viaCookie(null).auth.logout(), "FORBIDDEN");
    expect(await viaCookie("http://app.test").auth.logout()).toEqual({ ok: true });
  });

  it("sets the cookie at login and clears it at logout through the transport", async () => {
    const calls: string[] = [];
    const transport = {
      setSessionCookie: (token: string) => void calls.push(`set ${token}`),
      clearSessionCookie: () => void calls.push("clear"),
    };
    const input = fresh();
    const { token } = await anonymous({ transport }).auth.register(input);
    const auth = await resolveSession(t.db.prisma, token, new Date());
    await createCaller(testContext(t.db, { transport, auth: { ...auth!, via: "bearer" } })).auth.logout();
    expect(calls).toEqual([`set ${token}`, "clear"]);
  });
});
