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

describe("sign-in providers (OAUTH_*)", () => {
  const oidc = {
    OAUTH_OIDC_ISSUER: "https://auth.example.com/application/o/prompt-booster/",
    OAUTH_OIDC_CLIENT_ID: "pb",
    OAUTH_OIDC_CLIENT_SECRET: "s3cret-value",
  };

  it("turns on each provider whose client id and secret are both set; the issuer is kept exactly as given", () => {
    const config = loadConfig({
      ...oidc,
      OAUTH_GITHUB_CLIENT_ID: "gh",
      OAUTH_GITHUB_CLIENT_SECRET: "gh-secret",
      OAUTH_OIDC_NAME: "Authentik",
      OAUTH_DESKTOP_SCHEMES: "PromptBooster, com.example.pb",
    });
    expect(config.oauth.providers).toEqual({
      github: { clientId: "gh", clientSecret: "gh-secret" },
      google: undefined,
      oidc: { issuer: oidc.OAUTH_OIDC_ISSUER, clientId: "pb", clientSecret: "s3cret-value", name: "Authentik" },
    });
    expect(config.oauth.desktopSchemes).toEqual(["promptbooster", "com.example.pb"]);
    expect(loadConfig({}).oauth.providers).toEqual({ github: undefined, google: undefined, oidc: undefined });
  });

  it("needs both halves of a client, and the issuer with the generic provider", () => {
    expect(errorOf({ OAUTH_GOOGLE_CLIENT_ID: "g" })).toBe(
      "invalid configuration: OAUTH_GOOGLE_CLIENT_SECRET: is required with OAUTH_GOOGLE_CLIENT_ID",
    );
    expect(errorOf({ OAUTH_GITHUB_CLIENT_SECRET: "x" })).toMatch(/^invalid configuration: OAUTH_GITHUB_CLIENT_ID: /);
    expect(errorOf({ OAUTH_OIDC_CLIENT_ID: "a", OAUTH_OIDC_CLIENT_SECRET: "b" })).toMatch(
      /^invalid configuration: OAUTH_OIDC_ISSUER: is required/,
    );
  });

  it("takes a plain-http issuer only on loopback outside production", () => {
    const local = { ...oidc, OAUTH_OIDC_ISSUER: "http://127.0.0.1:4000" };
    expect(loadConfig(local).oauth.providers.oidc?.issuer).toBe("http://127.0.0.1:4000");
    expect(errorOf({ ...oidc, OAUTH_OIDC_ISSUER: "http://idp.example.com" })).toMatch(
      /^invalid configuration: OAUTH_OIDC_ISSUER: must be an https:\/\/ URL/,
    );
    expect(errorOf({ ...local, NODE_ENV: "production", OAUTH_STATE_SECRET: "x".repeat(32) })).toMatch(
      /^invalid configuration: OAUTH_OIDC_ISSUER: /,
    );
  });

  it("needs OAUTH_STATE_SECRET in production once a provider is on, and never echoes it", () => {
    expect(errorOf({ ...oidc, NODE_ENV: "production" })).toBe(
      "invalid configuration: OAUTH_STATE_SECRET: is required in production when a sign-in provider (OAUTH_*) is configured",
    );
    const message = errorOf({ ...oidc, OAUTH_STATE_SECRET: "too-short-secret" });
    expect(message).toMatch(/^invalid configuration: OAUTH_STATE_SECRET: must be at least 32 characters/);
    expect(message).not.toContain("too-short-secret");
    const secret = "a".repeat(40);
    expect(loadConfig({ ...oidc, NODE_ENV: "production", OAUTH_STATE_SECRET: secret }).oauth.stateSecret).toBe(secret);
    // Outside production a random one per process, so development needs no setting.
    expect(loadConfig(oidc).oauth.stateSecret).not.toBe(loadConfig(oidc).oauth.stateSecret);
  });

  it("refuses schemes a redirect must never use", () => {
    for (const scheme of ["https", "javascript", "data", "pb://x"]) {
      expect(errorOf({ OAUTH_DESKTOP_SCHEMES: scheme })).toMatch(/^invalid configuration: OAUTH_DESKTOP_SCHEMES: /);
    }
  });
});
