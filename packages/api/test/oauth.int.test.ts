// Provider sign-in's accounts and links on a real database: what a provider profile signs in to, the
// linking rules both ways (password, mailed link through a real SMTP server), identities and unlinking,
// password-less accounts, and GitHub's answers mapped to a profile.
import { createHash, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { exportDocument } from "../src/account/export.ts";
import { githubProfile, type ProviderProfile } from "../src/auth/oauth/providers.ts";
import { issueSignInCode, resolveProviderSignIn, usernameBase } from "../src/auth/oauth/service.ts";
import type { AuthDeps } from "../src/auth/service.ts";
import { resolveSession } from "../src/auth/session.ts";
import type { ApiContext } from "../src/context.ts";
import { createLocalChangeEvents } from "../src/lib/events.ts";
import { createMailService, type MailService } from "../src/mail/mailer.ts";
import { createSmtpSender } from "../src/mail/smtp.ts";
import { createCaller } from "../src/root.ts";
import { manualClock, testContext } from "./support/context.ts";
import { expectAppError } from "./support/errors.ts";
import { startSmtpServer, type TestSmtpServer } from "./support/smtp.ts";

let t: TestDb;
let smtp: TestSmtpServer;
let mail: MailService;

beforeAll(async () => {
  [t, smtp] = await Promise.all([createTestDb(), startSmtpServer()]);
  mail = createMailService({
    sender: createSmtpSender(smtp.url, "Prompt Booster <no-reply@test.example>"),
    enabled: true,
    appUrl: "http://app.test",
    onError: (error) => {
      throw error;
    },
  });
});
afterAll(async () => {
  await mail.idle();
  await Promise.all([t.dispose(), smtp.close()]);
});

const clock = manualClock(new Date());

function deps(): AuthDeps {
  return {
    db: t.db.prisma,
    clock,
    events: createLocalChangeEvents(),
    device: { userAgent: "vitest", ip: "127.0.0.1" },
    mail,
  };
}

function caller(overrides: Partial<ApiContext> = {}) {
  return createCaller(testContext(t.db, { clock, mail, ...overrides }));
}

async function signedIn(token: string) {
  const auth = await resolveSession(t.db.prisma, token, clock.now());
  if (!auth) throw new Error("no live session");
  return caller({ auth: { ...auth, via: "bearer" } });
}

function profile(overrides: Partial<ProviderProfile> = {}): ProviderProfile {
  const suffix = randomUUID().slice(0, 8);
  return {
    provider: "oidc",
    providerUserId: `sub-${suffix}`,
    email: `person-${suffix}@example.com`,
    emailVerified: true,
    usernameHint: `person.${suffix}`,
    ...overrides,
  };
}

/** Signs in with the profile and exchanges the code, as the callback and auth.oauthExchange do. */
async function providerSignIn(person: ProviderProfile) {
  const outcome = await resolveProviderSignIn(deps(), person);
  if (!outcome.ok) throw new Error(`refused: ${outcome.error}`);
  const verifier = "v".repeat(43);
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const code = await issueSignInCode(deps(), outcome.userId, {
    codeChallenge: challenge,
    redirectUri: "http://127.0.0.1:1/cb",
  });
  return caller().auth.oauthExchange({ code, codeVerifier: verifier, redirectUri: "http://127.0.0.1:1/cb" });
}

async function register(email = `reg-${randomUUID().slice(0, 8)}@example.com`) {
  const password = `correct horse ${randomUUID().slice(0, 6)}`;
  const result = await caller().auth.register({ email, username: `r_${randomUUID().slice(0, 8)}`, password });
  return { ...result, password };
}

describe("accounts made by a provider sign-in", () => {
  it("has no password, a verified address, a settings row at its first revision and the identity", async () => {
    const person = profile();
    const result = await providerSignIn(person);
    const user = await t.db.prisma.user.findUniqueOrThrow({
      where: { id: result.user.id },
      select: {
        hashedPassword: true,
        emailVerifiedAt: true,
        revision: true,
        settings: { select: { id: true, rev: true } },
      },
    });
    expect(user.hashedPassword).toBeNull();
    expect(user.emailVerifiedAt).not.toBeNull();
    // The settings row exists from the start (settings.get never writes), with the user's id, at rev 1.
    expect(user.settings).toEqual({ id: result.user.id, rev: 1 });
    expect(user.revision).toBe(1);
    const me = await signedIn(result.token);
    const pulled = await me.sync.pull({});
    expect(JSON.stringify(pulled)).toContain(result.user.id);
    expect(await me.auth.identities()).toMatchObject({
      identities: [{ provider: "oidc", email: person.email }],
      hasPassword: false,
    });
  });

  it("two first sign-ins of one person at once make one account (the loser decides again and finds it)", async () => {
    const person = profile();
    const outcomes = await Promise.all([1, 2, 3].map(() => resolveProviderSignIn(deps(), person)));
    const userIds = new Set(outcomes.map((outcome) => (outcome.ok ? outcome.userId : outcome.error)));
    expect(userIds.size).toBe(1);
    expect(await t.db.prisma.user.count({ where: { email: person.email! } })).toBe(1);
  });

  it("derives the username from the provider's and numbers it when taken", async () => {
    const hint = `Same.Name_${randomUUID().slice(0, 6)}`;
    const first = await providerSignIn(profile({ usernameHint: hint }));
    const second = await providerSignIn(profile({ usernameHint: hint.toUpperCase() }));
    expect(first.user.username).toBe(hint);
    expect(second.user.username).toBe(`${hint.toUpperCase()}-2`);
    expect(usernameBase({ usernameHint: null, email: "ab@example.com" })).toBe("userab");
    expect(usernameBase({ usernameHint: "Zoë Müller ✨", email: null })).toBe("ZoeMuller");
    expect(usernameBase({ usernameHint: null, email: null })).toBe("user");
  });

  it("login answers as for a wrong password; password checks answer noPassword; a reset sets a first one", async () => {
    const person = profile();
    const result = await providerSignIn(person);
    const login = await expectAppError(
      caller().auth.login({ email: person.email!, password: "anything at all" }),
      "UNAUTHORIZED",
    );
    expect(login.message).toBe("Wrong email, username or password");
    const me = await signedIn(result.token);
    for (const call of [
      me.auth.changePassword({ currentPassword: "whatever1", newPassword: "a brand new password" }),
      me.auth.deleteAccount({ password: "whatever1" }),
      me.auth.changeEmail({ password: "whatever1", newEmail: `new-${randomUUID()}@example.com` }),
    ]) {
      const refused = await expectAppError(call, "PRECONDITION_FAILED");
      expect(refused.details).toMatchObject({ reason: "noPassword" });
    }
    await caller().auth.requestPasswordReset({ email: person.email! });
    const resetMail = await smtp.take(person.email!);
    await caller().auth.resetPassword({ token: resetMail.token!, newPassword: "my first password here" });
    const again = await caller().auth.login({ email: person.email!, password: "my first password here" });
    expect(again.user.id).toBe(result.user.id);
    expect((await (await signedIn(again.token)).auth.identities()).hasPassword).toBe(true);
  });
});

describe("linking to an existing account", () => {
  it("an unverified provider address neither links nor creates", async () => {
    const existing = await register();
    for (const person of [
      profile({ email: existing.user.email, emailVerified: false }),
      profile({ emailVerified: false }),
      profile({ email: null }),
    ]) {
      expect(await resolveProviderSignIn(deps(), person)).toEqual({ ok: false, error: "email_unverified" });
    }
  });

  it("a verified address of an account answers link_required, never signs in; the password links it", async () => {
    const existing = await register();
    const person = profile({ email: existing.user.email });
    const outcome = await resolveProviderSignIn(deps(), person);
    expect(outcome).toMatchObject({ ok: false, error: "link_required" });
    const link = (outcome as { link: string }).link;
    expect(await t.db.prisma.identity.count({ where: { userId: existing.user.id } })).toBe(0);

    await expectAppError(caller().auth.oauthLink({ link, password: "the wrong password" }), "UNAUTHORIZED");
    const linked = await caller().auth.oauthLink({ link, password: existing.password });
    expect(linked.user.id).toBe(existing.user.id);
    const reused = await expectAppError(caller().auth.oauthLink({ link, password: existing.password }), "UNAUTHORIZED");
    expect(reused.details).toMatchObject({ reason: "invalidLink" });
    expect(await resolveProviderSignIn(deps(), person)).toMatchObject({ ok: true, userId: existing.user.id });
  });

  it("wrong passwords count against the account like failed logins", async () => {
    const existing = await register();
    const outcome = await resolveProviderSignIn(deps(), profile({ email: existing.user.email }));
    const link = (outcome as { link: string }).link;
    const taken: string[] = [];
    const limits = {
      attempt: async () => {},
      attemptMail: async () => {},
      takeAccountAttempt: async (key: string) => {
        taken.push(key);
        return { succeeded: async () => void taken.pop() };
      },
    };
    await expectAppError(
      caller({ rateLimits: limits }).auth.oauthLink({ link, password: "nope nope" }),
      "UNAUTHORIZED",
    );
    expect(taken).toEqual([`user:${existing.user.id}`]);
  });

  it("or a link mailed to the account's address links it, once, and confirms the address", async () => {
    const existing = await register();
    await smtp.take(existing.user.email).catch(() => undefined);
    const person = profile({ email: existing.user.email, provider: "google" });
    const outcome = await resolveProviderSignIn(deps(), person);
    const link = (outcome as { link: string }).link;
    await caller().auth.requestOAuthLinkMail({ link });
    const received = await smtp.take(existing.user.email);
    expect(received.subject).toContain("Google");
    expect(received.text).toContain("http://app.test/link-account#token=");
    // The link token is spent by the mail request.
    await expectAppError(caller().auth.requestOAuthLinkMail({ link }), "UNAUTHORIZED");

    const confirmed = await caller().auth.confirmOAuthLink({ token: received.token! });
    expect(confirmed.user.id).toBe(existing.user.id);
    const user = await t.db.prisma.user.findUniqueOrThrow({
      where: { id: existing.user.id },
      select: { emailVerifiedAt: true },
    });
    expect(user.emailVerifiedAt).not.toBeNull();
    const again = await expectAppError(caller().auth.confirmOAuthLink({ token: received.token! }), "UNAUTHORIZED");
    expect(again.details).toMatchObject({ reason: "invalidLink" });
  });

  it("a signed-in user links a provider; one linked elsewhere is identity_taken", async () => {
    const user = await register();
    const person = profile();
    expect(await resolveProviderSignIn(deps(), person, { linkUserId: user.user.id })).toMatchObject({ ok: true });
    const other = await register();
    expect(await resolveProviderSignIn(deps(), person, { linkUserId: other.user.id })).toEqual({
      ok: false,
      error: "identity_taken",
    });
    // A second account of the same provider for one user is refused too.
    expect(await resolveProviderSignIn(deps(), profile(), { linkUserId: user.user.id })).toEqual({
      ok: false,
      error: "identity_taken",
    });
  });

  it("a deactivated account is account_disabled", async () => {
    const person = profile();
    const result = await providerSignIn(person);
    await t.db.prisma.user.update({ where: { id: result.user.id }, data: { isActive: false } });
    expect(await resolveProviderSignIn(deps(), person)).toEqual({ ok: false, error: "account_disabled" });
  });
});

describe("unlinking", () => {
  it("refuses the last way to sign in; allows it once a password or another provider exists", async () => {
    const person = profile();
    const result = await providerSignIn(person);
    const me = await signedIn(result.token);
    const last = await expectAppError(me.auth.unlinkIdentity({ provider: "oidc" }), "PRECONDITION_FAILED");
    expect(last.details).toMatchObject({ reason: "lastSignInMethod" });
    await expectAppError(me.auth.unlinkIdentity({ provider: "github" }), "NOT_FOUND");

    expect(
      await resolveProviderSignIn(deps(), profile({ provider: "github", email: null }), { linkUserId: result.user.id }),
    ).toMatchObject({ ok: true });
    await me.auth.unlinkIdentity({ provider: "oidc" });
    expect((await me.auth.identities()).identities.map((identity) => identity.provider)).toEqual(["github"]);
    await expectAppError(me.auth.unlinkIdentity({ provider: "github" }), "PRECONDITION_FAILED");
  });

  it("an account with a password may unlink its only provider", async () => {
    const user = await register();
    await resolveProviderSignIn(deps(), profile(), { linkUserId: user.user.id });
    const me = await signedIn(user.token);
    await me.auth.unlinkIdentity({ provider: "oidc" });
    expect(await me.auth.identities()).toEqual({ identities: [], hasPassword: true });
  });
});

describe("export", () => {
  it("lists the linked providers by name and link time only", async () => {
    const person = profile({ provider: "google" });
    const result = await providerSignIn(person);
    let text = "";
    for await (const piece of exportDocument(t.db.prisma, result.user.id, { format: "full", now: clock.now() })) {
      text += piece;
    }
    const document = JSON.parse(text) as { identities: unknown[] };
    expect(document.identities).toEqual([{ provider: "google", linkedAt: expect.any(String) as unknown }]);
    expect(text).not.toContain(person.providerUserId);
  });
});

describe("GitHub's answers as a profile", () => {
  const user = { id: 583231, login: "octocat", name: "The Octocat" };

  it("takes the verified primary address, lower-cased, and the login as the username hint", () => {
    const emails = [
      { email: "other@example.com", primary: false, verified: true, visibility: null },
      { email: "OctoCat@GitHub.com", primary: true, verified: true, visibility: "public" },
    ];
    expect(githubProfile(user, emails)).toEqual({
      provider: "github",
      providerUserId: "583231",
      email: "octocat@github.com",
      emailVerified: true,
      usernameHint: "octocat",
    });
  });

  it("an unverified primary, or none, is no verified address (a verified secondary does not count)", () => {
    const unverified = [
      { email: "octocat@github.com", primary: true, verified: false },
      { email: "other@example.com", primary: false, verified: true },
    ];
    expect(githubProfile(user, unverified)).toMatchObject({ email: "octocat@github.com", emailVerified: false });
    expect(githubProfile(user, [])).toMatchObject({ email: null, emailVerified: false });
    expect(githubProfile(user, { message: "Not Found" })).toMatchObject({ email: null, emailVerified: false });
  });

  it("refuses an answer with no user id", () => {
    expect(() => githubProfile({ login: "x" }, [])).toThrow(/no id/);
  });
});
