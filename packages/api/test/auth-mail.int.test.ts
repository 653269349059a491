// Password reset, email verification and email change, through a real SMTP server: the API sends with
// nodemailer, the test reads what arrived (smtp-server + mailparser) and follows the links' tokens.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { accountTokenIdOf } from "../src/auth/account-tokens.ts";
import { resolveSession } from "../src/auth/session.ts";
import type { ApiContext } from "../src/context.ts";
import type { Clock } from "../src/lib/clock.ts";
import { createLocalChangeEvents, type SessionsEnded } from "../src/lib/events.ts";
import { createMailService, type MailService } from "../src/mail/mailer.ts";
import { createSmtpSender } from "../src/mail/smtp.ts";
import { createCaller } from "../src/root.ts";
import { manualClock, testContext } from "./support/context.ts";
import { expectAppError } from "./support/errors.ts";
import { startSmtpServer, type TestSmtpServer } from "./support/smtp.ts";

let t: TestDb;
let smtp: TestSmtpServer;
let mail: MailService;
const mailErrors: unknown[] = [];

beforeAll(async () => {
  [t, smtp] = await Promise.all([createTestDb(), startSmtpServer()]);
  mail = createMailService({
    sender: createSmtpSender(smtp.url, "Prompt Booster <no-reply@test.example>"),
    enabled: true,
    appUrl: "http://app.test/",
    onError: (error) => mailErrors.push(error),
  });
});
afterAll(async () => {
  await mail.idle();
  expect(mailErrors).toEqual([]);
  await Promise.all([t.dispose(), smtp.close()]);
});

const MINUTE = 60_000;

function caller(overrides: Partial<ApiContext> = {}) {
  return createCaller(testContext(t.db, { mail, ...overrides }));
}

/** A caller as the server builds it for a request carrying `token`. */
async function signedIn(token: string, clock: Clock, overrides: Partial<ApiContext> = {}) {
  const auth = await resolveSession(t.db.prisma, token, clock.now());
  if (!auth) throw new Error("the token has no live session");
  return caller({ clock, auth: { ...auth, via: "bearer" }, ...overrides });
}

async function registered(clock: Clock = manualClock(), acceptLanguage?: string) {
  const suffix = randomUUID().slice(0, 10);
  const input = { email: `mail-${suffix}@example.com`, username: `mail_${suffix}`, password: `first pass ${suffix}` };
  const request = { requestId: randomUUID(), ip: "127.0.0.1", userAgent: "vitest", origin: null, acceptLanguage };
  const result = await caller({ clock, request }).auth.register(input);
  const verification = await smtp.take(input.email);
  return { ...input, ...result, verification };
}

const reasonOf = async (call: Promise<unknown>, code: string) => (await expectAppError(call, code)).details?.reason;

describe("password reset", () => {
  it("mails a single-use link whose token sets the password, ends every session and signs in anew", async () => {
    const clock = manualClock();
    const user = await registered(clock);
    const events = createLocalChangeEvents();
    const ended: SessionsEnded[] = [];
    events.subscribe({
      userId: user.user.id,
      sessionId: "stream",
      onChange: () => undefined,
      onSessionsEnded: (event) => ended.push(event),
      onEvicted: () => undefined,
    });
    const otherDevice = await caller({ clock }).auth.login({ email: user.email, password: user.password });

    expect(await caller({ clock }).auth.requestPasswordReset({ email: user.email.toUpperCase() })).toEqual({
      ok: true,
    });
    const received = await smtp.take(user.email);
    expect(received.subject).toBe("Reset your Prompt Booster password");
    expect(received.from).toContain("no-reply@test.example");
    expect(received.link).toBe(`http://app.test/reset-password#token=${received.token}`);
    expect(received.html).toContain(received.link);
    expect(received.token!.length).toBeGreaterThanOrEqual(22); // ≥ 128 bits in base64url

    const stored = await t.db.prisma.accountToken.findMany({ where: { userId: user.user.id } });
    // Only the SHA-256 of the token is kept; the token itself appears in no column.
    expect(stored.map((row) => row.id)).toContain(accountTokenIdOf(received.token!));
    expect(JSON.stringify(stored)).not.toContain(received.token);

    const newPassword = "a brand new passphrase";
    const reset = await caller({ clock, events }).auth.resetPassword({ token: received.token!, newPassword });
    expect(reset.user.id).toBe(user.user.id);
    expect(await resolveSession(t.db.prisma, reset.token, clock.now())).not.toBeNull();
    // Every earlier session is gone, and their open streams are told so.
    expect(await resolveSession(t.db.prisma, user.token, clock.now())).toBeNull();
    expect(await resolveSession(t.db.prisma, otherDevice.token, clock.now())).toBeNull();
    expect(ended).toEqual([{ userId: user.user.id, allExcept: expect.any(String) as string }]);
    expect(ended[0]).not.toEqual({ userId: user.user.id, allExcept: null });

    await expectAppError(caller({ clock }).auth.login({ email: user.email, password: user.password }), "UNAUTHORIZED");
    await caller({ clock }).auth.login({ email: user.email, password: newPassword });
    // Following the link proved the mailbox.
    const me = await (await signedIn(reset.token, clock)).auth.me();
    expect(me.user.emailVerifiedAt).toEqual(clock.now());

    // The token works once.
    const again = caller({ clock }).auth.resetPassword({
      token: received.token!,
      newPassword: "yet another passphrase",
    });
    expect(await reasonOf(again, "BAD_REQUEST")).toBe("tokenUsed");
  });

  it("refuses an expired token, a replaced one, an unknown one and one of another flow, each with its reason", async () => {
    const clock = manualClock();
    const user = await registered(clock);
    const newPassword = "another fine passphrase";
    const reset = (token: string) => caller({ clock }).auth.resetPassword({ token, newPassword });

    await caller({ clock }).auth.requestPasswordReset({ email: user.email });
    const first = (await smtp.take(user.email)).token!;
    await caller({ clock }).auth.requestPasswordReset({ email: user.email });
    const second = (await smtp.take(user.email)).token!;
    // A new request replaces the earlier link.
    expect(await reasonOf(reset(first), "BAD_REQUEST")).toBe("tokenInvalid");

    clock.advance(30 * MINUTE);
    expect(await reasonOf(reset(second), "BAD_REQUEST")).toBe("tokenExpired");
    expect(await reasonOf(reset("A".repeat(43)), "BAD_REQUEST")).toBe("tokenInvalid");
    expect(await reasonOf(reset("not a token"), "BAD_REQUEST")).toBe("tokenInvalid");
    // The verification mail's token is not a reset token, nor the other way round.
    expect(await reasonOf(reset(user.verification.token!), "BAD_REQUEST")).toBe("tokenWrongPurpose");
    await caller({ clock }).auth.requestPasswordReset({ email: user.email });
    const third = (await smtp.take(user.email)).token!;
    expect(await reasonOf(caller({ clock }).auth.verifyEmail({ token: third }), "BAD_REQUEST")).toBe(
      "tokenWrongPurpose",
    );
    // Refusals left the password and the live token alone.
    await caller({ clock }).auth.login({ email: user.email, password: user.password });
    await caller({ clock }).auth.resetPassword({ token: third, newPassword });
  });

  it("keeps the password rules of registration", async () => {
    const user = await registered();
    await caller().auth.requestPasswordReset({ email: user.email });
    const { token } = await smtp.take(user.email);
    await expectAppError(
      caller().auth.resetPassword({ token: token!, newPassword: "short" }),
      "BAD_REQUEST",
      "newPassword",
    );
    await expectAppError(
      caller().auth.resetPassword({ token: token!, newPassword: "password123" }),
      "BAD_REQUEST",
      "newPassword",
    );
  });

  it("answers an unknown address exactly as a known one, and sends it nothing", async () => {
    const user = await registered();
    const unknown = `nobody-${randomUUID()}@example.com`;
    const known = await caller().auth.requestPasswordReset({ email: user.email });
    const notKnown = await caller().auth.requestPasswordReset({ email: unknown });
    expect(notKnown).toEqual(known);
    await smtp.take(user.email);
    await mail.idle();
    expect(smtp.mailsTo(unknown)).toEqual([]);
  });

  it("lets exactly one of two concurrent uses of one token through", async () => {
    const user = await registered();
    await caller().auth.requestPasswordReset({ email: user.email });
    const { token } = await smtp.take(user.email);
    const results = await Promise.allSettled(
      ["first concurrent passphrase", "second concurrent passphrase"].map((newPassword) =>
        caller().auth.resetPassword({ token: token!, newPassword }),
      ),
    );
    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
  });
});

describe("email verification", () => {
  it("confirms the address with the link mailed at registration; a resend replaces it", async () => {
    const clock = manualClock();
    const user = await registered(clock);
    expect(user.verification.subject).toBe("Confirm your email address for Prompt Booster");
    expect(user.verification.link).toBe(`http://app.test/verify-email#token=${user.verification.token}`);
    const me = await signedIn(user.token, clock);
    expect((await me.auth.me()).user.emailVerifiedAt).toBeNull();

    await me.auth.resendVerification();
    const resent = await smtp.take(user.email);
    expect(await reasonOf(caller({ clock }).auth.verifyEmail({ token: user.verification.token! }), "BAD_REQUEST")).toBe(
      "tokenInvalid",
    );
    // Any browser may open the link: no session needed.
    expect(await caller({ clock }).auth.verifyEmail({ token: resent.token! })).toEqual({ ok: true, email: user.email });
    expect((await me.auth.me()).user.emailVerifiedAt).toEqual(clock.now());
    expect(await reasonOf(me.auth.resendVerification(), "BAD_REQUEST")).toBe("alreadyVerified");
    expect(await reasonOf(caller({ clock }).auth.verifyEmail({ token: resent.token! }), "BAD_REQUEST")).toBe(
      "tokenUsed",
    );
  });

  it("expires after 24 hours", async () => {
    const clock = manualClock();
    const user = await registered(clock);
    clock.advance(24 * 60 * MINUTE);
    expect(await reasonOf(caller({ clock }).auth.verifyEmail({ token: user.verification.token! }), "BAD_REQUEST")).toBe(
      "tokenExpired",
    );
  });

  it("with AUTH_REQUIRE_EMAIL_VERIFICATION, lets an unconfirmed account read and manage itself, not write", async () => {
    const clock = manualClock();
    const user = await registered(clock);
    const config = { corsOrigins: ["http://app.test"], requireEmailVerification: true };
    const me = await signedIn(user.token, clock, { config });
    await me.settings.get();
    await me.templates.list({});
    const refused = await expectAppError(me.templates.create({ name: "T", content: "C" }), "FORBIDDEN");
    expect(refused.details).toEqual({ reason: "emailNotVerified" });
    await me.auth.resendVerification();
    const { token } = await smtp.take(user.email);
    await caller({ clock }).auth.verifyEmail({ token: token! });
    const verified = await signedIn(user.token, clock, { config });
    await verified.templates.create({ name: "T", content: "C" });
  });
});

describe("email change", () => {
  it("mails the new address a confirmation and the old one a notice; the change applies on confirmation", async () => {
    const clock = manualClock();
    const user = await registered(clock);
    const me = await signedIn(user.token, clock);
    const newEmail = `moved-${randomUUID().slice(0, 8)}@example.com`;

    await expectAppError(me.auth.changeEmail({ password: "wrong password", newEmail }), "FORBIDDEN");
    expect(await reasonOf(me.auth.changeEmail({ password: user.password, newEmail: user.email }), "BAD_REQUEST")).toBe(
      "sameEmail",
    );
    const other = await registered(clock);
    const taken = await expectAppError(
      me.auth.changeEmail({ password: user.password, newEmail: other.email }),
      "CONFLICT",
    );
    expect(taken.details).toEqual({ field: "newEmail" });

    await me.auth.changeEmail({ password: user.password, newEmail });
    const notice = await smtp.take(user.email);
    expect(notice.subject).toBe("Your Prompt Booster email address is being changed");
    expect(notice.text).toContain(newEmail);
    expect(notice.token).toBeUndefined();
    const confirmation = await smtp.take(newEmail);
    expect(confirmation.subject).toBe("Confirm your new email address for Prompt Booster");
    expect((await me.auth.me()).user.email).toBe(user.email);

    // A reset link mailed to the old address before the change dies with it.
    await caller({ clock }).auth.requestPasswordReset({ email: user.email });
    const oldReset = await smtp.take(user.email);
    expect(await caller({ clock }).auth.verifyEmail({ token: confirmation.token! })).toEqual({
      ok: true,
      email: newEmail,
    });
    const after = await me.auth.me();
    expect(after.user).toMatchObject({ email: newEmail, emailVerifiedAt: clock.now() });
    const resetOld = caller({ clock }).auth.resetPassword({
      token: oldReset.token!,
      newPassword: "a later passphrase",
    });
    expect(await reasonOf(resetOld, "BAD_REQUEST")).toBe("tokenInvalid");
    await caller({ clock }).auth.login({ email: newEmail, password: user.password });
  });
});

describe("mail languages", () => {
  it("writes in the language of the user's settings, else of the request's Accept-Language", async () => {
    const clock = manualClock();
    const chineseBrowser = await registered(clock, "zh-CN,zh;q=0.9,en;q=0.8");
    expect(chineseBrowser.verification.subject).toBe("确认您的 Prompt Booster 邮箱地址");
    expect(chineseBrowser.verification.text).toContain("确认邮箱地址");
    expect(chineseBrowser.verification.html).toContain('lang="zh-CN"');

    const user = await registered(clock);
    await t.db.prisma.userSettings.update({ where: { userId: user.user.id }, data: { language: "zh-CN" } });
    await caller({ clock }).auth.requestPasswordReset({ email: user.email });
    const chinese = await smtp.take(user.email);
    expect(chinese.subject).toBe("重置您的 Prompt Booster 密码");
    expect(chinese.text).toContain("30 分钟内有效");
    expect(chinese.html).toContain(chinese.link);

    await t.db.prisma.userSettings.update({ where: { userId: user.user.id }, data: { language: "fr" } });
    const request = { requestId: randomUUID(), ip: "127.0.0.1", userAgent: "vitest", origin: null };
    await caller({ clock, request: { ...request, acceptLanguage: "fr;q=1, zh;q=0.5" } }).auth.requestPasswordReset({
      email: user.email,
    });
    expect((await smtp.take(user.email)).subject).toBe("重置您的 Prompt Booster 密码");
    await caller({ clock, request }).auth.requestPasswordReset({ email: user.email });
    const english = await smtp.take(user.email);
    expect(english.subject).toBe("Reset your Prompt Booster password");
    expect(english.text).toContain("for 30 minutes");
  });
});

describe("without mail", () => {
  it("says so in auth.providers, and the mail flows answer mailNotConfigured", async () => {
    const off = createMailService({
      sender: { send: () => Promise.reject(new Error("must not send")) },
      enabled: false,
      appUrl: "http://app.test",
      onError: (error) => mailErrors.push(error),
    });
    expect(await caller({ mail: off }).auth.providers()).toEqual({
      password: true,
      passwordReset: false,
      emailVerification: false,
      emailVerificationRequired: false,
      oauth: [],
    });
    expect(await caller().auth.providers()).toMatchObject({ passwordReset: true, emailVerification: true });
    const request = caller({ mail: off }).auth.requestPasswordReset({ email: "someone@example.com" });
    expect(await reasonOf(request, "FORBIDDEN")).toBe("mailNotConfigured");
    // Registration still works, without a verification mail.
    const suffix = randomUUID().slice(0, 10);
    const email = `nomail-${suffix}@example.com`;
    const result = await caller({ mail: off }).auth.register({
      email,
      username: `nm_${suffix}`,
      password: `pass ${suffix}!`,
    });
    const me = await signedIn(result.token, manualClock(new Date()), { mail: off });
    expect(await reasonOf(me.auth.resendVerification(), "FORBIDDEN")).toBe("mailNotConfigured");
    expect(
      await reasonOf(me.auth.changeEmail({ password: `pass ${suffix}!`, newEmail: `x-${email}` }), "FORBIDDEN"),
    ).toBe("mailNotConfigured");
  });
});

describe("token issuing", () => {
  it("leaves exactly one live reset token when requests race", async () => {
    const user = await registered();
    await Promise.all(Array.from({ length: 5 }, () => caller().auth.requestPasswordReset({ email: user.email })));
    const tokens = await Promise.all(Array.from({ length: 5 }, () => smtp.take(user.email)));
    expect(await t.db.prisma.accountToken.count({ where: { userId: user.user.id, purpose: "passwordReset" } })).toBe(1);
    const results = await Promise.allSettled(
      tokens.map(({ token }) => caller().auth.resetPassword({ token: token!, newPassword: "a raced passphrase" })),
    );

    expect(results.filter((result) => result.status === "fulfilled")).toHaveLength(1);
  });
});
