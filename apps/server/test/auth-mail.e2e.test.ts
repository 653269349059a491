// Account mails end to end: a real server configured with SMTP_URL pointing at a real SMTP server started
// here, driven over REST and the typed client. Every REST answer is held to the OpenAPI document.
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createClient, type TokenStore } from "@prompt-booster/client";

import { startSmtpServer, type TestSmtpServer } from "../../../packages/api/test/support/smtp.ts";
import { signUp } from "./support/auth.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

let smtp: TestSmtpServer;
let t: TestServer;
beforeAll(async () => {
  smtp = await startSmtpServer();
  t = await startTestServer({
    env: {
      SMTP_URL: smtp.url,
      MAIL_FROM: "Prompt Booster <accounts@test.example>",
      APP_URL: "http://app.test",
      AUTH_RATE_LIMIT_MAIL_PER_ADDRESS: "3",
    },
  });
});
afterAll(async () => {
  await t.close();
  await smtp.close();
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${t.url}/api${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

const fixedToken = (token: string): TokenStore => ({ get: () => token, set: () => {}, clear: () => {} });
const client = (url: string, token: string) =>
  createClient({ url, auth: { mode: "bearer", tokens: fixedToken(token) } });

/** A fresh account whose verification mail has arrived (and is set aside). */
async function account() {
  const user = await signUp(t.url);
  const verification = await smtp.take(user.email);
  return { ...user, verification };
}

describe("password reset over REST", () => {
  it("the received link's token resets the password once; every other session and its stream end", async () => {
    const user = await account();
    const other = client(t.url, user.token);
    let streamEnded: string | undefined;
    let opened = false;
    const stream = other.sync.subscribe.subscribe(undefined, {
      onData: () => void (opened = true),
      onError: (error) => void (streamEnded = (error.data as { code?: string } | undefined)?.code),
      onComplete: () => void (streamEnded ??= "complete"),
    });
    await expect.poll(() => opened).toBe(true);

    const requested = await post("/auth/password-reset/request", { email: user.email });
    expect(requested).toMatchObject({ status: 200, body: { ok: true } });
    const mail = await smtp.take(user.email);
    expect(mail.from).toContain("accounts@test.example");
    expect(mail.link).toMatch(/^http:\/\/app\.test\/reset-password#token=[\w-]{43}$/);

    const newPassword = "an entirely new passphrase";
    const reset = await post("/auth/password-reset/confirm", { token: mail.token, newPassword });
    expect(reset.status).toBe(200);
    expect(reset.body.user).toEqual(user.user);
    // Ended quietly: the database, not the event, says the session is gone (as after logoutAll).
    await expect.poll(() => streamEnded, { timeout: 10_000 }).toBe("complete");
    stream.unsubscribe();
    // The session of before is dead; the new one lives; the password is the new one.
    expect((await fetch(`${t.url}/api/auth/me`, { headers: { authorization: `Bearer ${user.token}` } })).status).toBe(
      401,
    );
    await client(t.url, reset.body.token as string).auth.me.query();
    expect((await post("/auth/login", { email: user.email, password: user.password })).status).toBe(401);
    expect((await post("/auth/login", { email: user.email, password: newPassword })).status).toBe(200);

    const reused = await post("/auth/password-reset/confirm", { token: mail.token, newPassword: "a third passphrase" });
    expect(reused).toMatchObject({ status: 400, body: { code: "BAD_REQUEST", details: { reason: "tokenUsed" } } });
  });

  it("answers an unknown address exactly as a known one and mails it nothing", async () => {
    const user = await account();
    const unknown = `nobody-${randomUUID()}@example.com`;
    const known = await post("/auth/password-reset/request", { email: user.email });
    const notKnown = await post("/auth/password-reset/request", { email: unknown });
    expect({ status: notKnown.status, body: notKnown.body }).toEqual({ status: known.status, body: known.body });
    await smtp.take(user.email);
    await t.server.mail.idle();
    expect(smtp.mailsTo(unknown)).toEqual([]);
  });

  it("limits requests per address (known or not) with 429 and Retry-After", async () => {
    for (const email of [(await account()).email, `nobody-${randomUUID()}@example.com`]) {
      for (let i = 0; i < 3; i++) expect((await post("/auth/password-reset/request", { email })).status).toBe(200);
      const limited = await post("/auth/password-reset/request", { email });
      expect(limited).toMatchObject({ status: 429, body: { code: "TOO_MANY_REQUESTS" } });
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    }
  });

  it("refuses a malformed token as 400 with its reason", async () => {
    const refused = await post("/auth/password-reset/confirm", {
      token: "x".repeat(43),
      newPassword: "whatever it is 1",
    });
    expect(refused).toMatchObject({ status: 400, body: { details: { reason: "tokenInvalid" } } });
  });
});

describe("the typed client in bearer mode", () => {
  it("keeps the token a reset answers, so the device is signed in with it", async () => {
    const user = await account();
    let stored: string | null = user.token;
    const tokens: TokenStore = {
      get: () => stored,
      set: (token) => void (stored = token),
      clear: () => void (stored = null),
    };
    const device = createClient({ url: t.url, auth: { mode: "bearer", tokens } });
    await device.auth.requestPasswordReset.mutate({ email: user.email });
    const { token } = await smtp.take(user.email);
    const refused = await device.auth.resetPassword
      .mutate({ token: "y".repeat(43), newPassword: "new phrase 1" })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Error);
    expect(stored).toBe(user.token);
    const reset = await device.auth.resetPassword.mutate({ token: token!, newPassword: "the device's new phrase" });
    expect(stored).toBe(reset.token);
    expect((await device.auth.me.query()).user.id).toBe(user.user.id);
  });
});

describe("verification and email change through the typed client", () => {
  it("round-trip through received mails", async () => {
    const user = await account();
    const me = client(t.url, user.token);
    expect((await me.auth.me.query()).user.emailVerifiedAt).toBeNull();
    await client(t.url, "").auth.verifyEmail.mutate({ token: user.verification.token! });
    expect((await me.auth.me.query()).user.emailVerifiedAt).toBeInstanceOf(Date);

    const newEmail = `moved-${randomUUID().slice(0, 8)}@example.com`;
    await me.auth.changeEmail.mutate({ password: user.password, newEmail });
    expect((await smtp.take(user.email)).text).toContain(newEmail);
    const confirmation = await smtp.take(newEmail);
    expect(await me.auth.verifyEmail.mutate({ token: confirmation.token! })).toEqual({ ok: true, email: newEmail });
    expect((await me.auth.me.query()).user.email).toBe(newEmail);
  });

  it("GET /api/auth/providers says mail is on", async () => {
    const response = await fetch(`${t.url}/api/auth/providers`);
    expect(await response.json()).toEqual({
      password: true,
      passwordReset: true,
      emailVerification: true,
      emailVerificationRequired: false,
      oauth: [],
    });
  });
});

describe("a server requiring verified email, with a small per-IP mail budget", () => {
  it("lets an unverified account read but not write until it confirms; limits mails per IP across addresses", async () => {
    const strict = await startTestServer({
      env: {
        SMTP_URL: smtp.url,
        MAIL_FROM: "accounts@test.example",
        AUTH_REQUIRE_EMAIL_VERIFICATION: "true",
        AUTH_RATE_LIMIT_MAIL_PER_IP: "2",
      },
    });
    try {
      const user = await signUp(strict.url);
      const auth = { authorization: `Bearer ${user.token}` };
      const providers = (await (await fetch(`${strict.url}/api/auth/providers`)).json()) as Record<string, unknown>;
      expect(providers).toMatchObject({ emailVerificationRequired: true });
      expect((await fetch(`${strict.url}/api/settings`, { headers: auth })).status).toBe(200);
      const refused = await fetch(`${strict.url}/api/templates`, {
        method: "POST",
        headers: { "content-type": "application/json", ...auth },
        body: JSON.stringify({ name: "T", content: "C" }),
      });
      expect(refused.status).toBe(403);
      expect(await refused.json()).toMatchObject({ code: "FORBIDDEN", details: { reason: "emailNotVerified" } });

      const { token } = await smtp.take(user.email);
      await client(strict.url, user.token).auth.verifyEmail.mutate({ token: token! });
      await client(strict.url, user.token).templates.create.mutate({ name: "T", content: "C" });

      // Two mails from this IP per window, whatever the addresses.
      const request = (email: string) =>
        fetch(`${strict.url}/api/auth/password-reset/request`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email }),
        });
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await request(`someone-${randomUUID()}@example.com`)).status);
      expect(statuses).toEqual([200, 200, 429]);
    } finally {
      await strict.close();
    }
  });
});

describe("without SMTP_URL", () => {
  it("in production: starts, warns once, says mail is off, and the reset answers 403 mailNotConfigured", async () => {
    const lines: string[] = [];
    const logStream = new Writable({
      write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()),
    });
    const off = await startTestServer({
      env: { NODE_ENV: "production", LOG_LEVEL: "warn", PGLITE_DATA_DIR: "memory://" },
      logStream,
    });
    try {
      const warnings = lines.filter((line) => line.includes("SMTP_URL is not set"));
      expect(warnings).toHaveLength(1);
      const providers = (await (await fetch(`${off.url}/api/auth/providers`)).json()) as Record<string, unknown>;
      expect(providers).toMatchObject({ passwordReset: false, emailVerification: false });
      const response = await fetch(`${off.url}/api/auth/password-reset/request`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "someone@example.com" }),
      });
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ code: "FORBIDDEN", details: { reason: "mailNotConfigured" } });
      // Registration works without mail.
      await signUp(off.url);
    } finally {
      await off.close();
    }
  });

  it("in development: writes each mail to the log at info level, with its marker and link", async () => {
    const lines: string[] = [];
    const logStream = new Writable({
      write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()),
    });
    const dev = await startTestServer({ env: { NODE_ENV: "development", LOG_LEVEL: "info" }, logStream });
    try {
      const user = await signUp(dev.url);
      await dev.server.mail.idle();
      const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.mail);
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({
        level: 30,
        msg: "[mail not sent: no SMTP_URL]",
        mail: { to: user.email, subject: "Confirm your email address for Prompt Booster" },
      });
      expect(JSON.stringify(logged[0])).toMatch(/verify-email#token=[\w-]{43}/);
    } finally {
      await dev.close();
    }
  });
});
