// The transport settings of the configuration: which origins may be listed, and the session cookie's SameSite.
import { describe, expect, it } from "vitest";

import { ConfigError, loadConfig } from "../src/config.ts";

const errorOf = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error("loadConfig accepted the environment");
};

describe("CORS_ORIGINS", () => {
  it("takes web origins, custom schemes, file:// and null, written as browsers send them", () => {
    const config = loadConfig({
      CORS_ORIGINS: "null, file://, app://Local, HTTPS://App.Example.com:443/, http://localhost:5173",
    });
    expect(config.corsOrigins).toEqual([
      "null",
      "file://",
      "app://local",
      "https://app.example.com",
      "http://localhost:5173",
    ]);
  });

  it.each([
    "not a url",
    "https://app.example.com/path",
    "https://app.example.com?x=1",
    "app://",
    "file:///etc",
    "ftp:x",
  ])("refuses %s with one line naming the variable and the entry", (entry) => {
    const message = errorOf({ CORS_ORIGINS: `https://ok.example, ${entry}` });
    expect(message).toMatch(/^invalid configuration: CORS_ORIGINS: /);
    expect(message).toContain(`"${entry}" is not an origin`);
    expect(message).not.toContain("\n");
  });

  it('refuses "null" together with a SameSite=None cookie, which would hand the session to any sandboxed page', () => {
    expect(errorOf({ CORS_ORIGINS: "null", SESSION_COOKIE_SAMESITE: "none" })).toMatch(
      /^invalid configuration: CORS_ORIGINS: "null" cannot be trusted with a SameSite=None cookie/,
    );
  });
});

describe("SESSION_COOKIE_SAMESITE", () => {
  it("is lax by default, Secure only in production", () => {
    expect(loadConfig({}).sessionCookie).toEqual({ sameSite: "lax", secure: false });
    expect(loadConfig({ NODE_ENV: "production", PGLITE_DATA_DIR: "memory://" }).sessionCookie).toEqual({
      sameSite: "lax",
      secure: true,
    });
  });

  it("none forces Secure, in development too", () => {
    expect(loadConfig({ SESSION_COOKIE_SAMESITE: "none" }).sessionCookie).toEqual({ sameSite: "none", secure: true });
    expect(loadConfig({ SESSION_COOKIE_SAMESITE: "strict" }).sessionCookie).toEqual({
      sameSite: "strict",
      secure: false,
    });
  });

  it("refuses anything else with one line naming the variable", () => {
    expect(errorOf({ SESSION_COOKIE_SAMESITE: "always" })).toMatch(
      /^invalid configuration: SESSION_COOKIE_SAMESITE: .*\(got "always"\)$/,
    );
  });
});

describe("mail settings", () => {
  const production = { NODE_ENV: "production", PGLITE_DATA_DIR: "memory://" };

  it("sends through SMTP_URL; without it, writes mail to the log in development and is off in production", () => {
    expect(loadConfig({}).mail).toMatchObject({ mode: "log", requireEmailVerification: false });
    expect(loadConfig(production).mail.mode).toBe("off");
    const smtp = loadConfig({
      ...production,
      SMTP_URL: "smtps://user:secret@mail.example.com:465",
      MAIL_FROM: "Prompt Booster <no-reply@example.com>",
      APP_URL: "https://app.example.com/",
    });
    expect(smtp.mail).toEqual({
      mode: "smtp",
      smtpUrl: "smtps://user:secret@mail.example.com:465",
      from: "Prompt Booster <no-reply@example.com>",
      appUrl: "https://app.example.com",
      requireEmailVerification: false,
    });
  });

  it("stops start-up only for AUTH_REQUIRE_EMAIL_VERIFICATION=true without SMTP_URL in production, in one line naming both", () => {
    const message = errorOf({ ...production, AUTH_REQUIRE_EMAIL_VERIFICATION: "true" });
    expect(message).toMatch(/^invalid configuration: AUTH_REQUIRE_EMAIL_VERIFICATION: .*SMTP_URL/);
    expect(message).not.toContain("\n");
    expect(loadConfig({ AUTH_REQUIRE_EMAIL_VERIFICATION: "true" }).mail.requireEmailVerification).toBe(true);
  });

  it("needs APP_URL and MAIL_FROM with SMTP_URL in production", () => {
    const smtp = { ...production, SMTP_URL: "smtp://mail.example.com:587" };
    expect(errorOf({ ...smtp, MAIL_FROM: "a@example.com" })).toMatch(/^invalid configuration: APP_URL: is required/);
    expect(errorOf({ ...smtp, APP_URL: "https://app.example.com" })).toMatch(
      /^invalid configuration: MAIL_FROM: is required/,
    );
  });

  it("refuses a bad SMTP_URL without echoing it (it may hold a password), and an APP_URL with a query", () => {
    const message = errorOf({ SMTP_URL: "http://user:secret@mail.example.com" });
    expect(message).toBe("invalid configuration: SMTP_URL: must be an smtp:// or smtps:// URL");
    expect(errorOf({ APP_URL: "https://app.example.com/?x=1" })).toMatch(/^invalid configuration: APP_URL: /);
    expect(errorOf({ APP_URL: "ftp://app.example.com" })).toMatch(/^invalid configuration: APP_URL: /);
  });
});
