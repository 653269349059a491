// The pure parts of provider sign-in: which redirect targets a flow may use, and the signed flow cookie.
import { describe, expect, it } from "vitest";

import { openFlow, sealFlow, type FlowState } from "../src/auth/oauth/flow-state.ts";
import { profileFromClaims } from "../src/auth/oauth/providers.ts";
import { appRedirectAllowed, returnPathAllowed } from "../src/auth/oauth/redirects.ts";

const allowed = { corsOrigins: ["https://app.example.com", "app://local"], desktopSchemes: ["promptbooster"] };

describe("appRedirectAllowed", () => {
  it.each([
    "http://127.0.0.1:53123/callback",
    "http://127.0.0.1/callback",
    "http://[::1]:8080/cb?x=1",
    "promptbooster://oauth/callback",
    "https://app.example.com/oauth/done",
  ])("takes %s", (uri) => expect(appRedirectAllowed(uri, allowed)).toBe(true));

  it.each([
    "http://localhost:53123/callback",
    "https://127.0.0.1:53123/callback",
    "http://127.0.0.1.evil.example/callback",
    "http://user:pass@127.0.0.1:1/callback",
    "http://127.0.0.1:1/callback#fragment",
    "https://app.example.com.evil.example/",
    "http://app.example.com/",
    "https://app.example.com:8443/",
    "app://local/callback",
    "javascript:alert(1)",
    "data:text/html,hi",
    "otherscheme://callback",
    "/relative/path",
    "",
  ])("refuses %s", (uri) => expect(appRedirectAllowed(uri, allowed)).toBe(false));
});

describe("returnPathAllowed", () => {
  it.each(["/", "/settings?tab=account", "/a/b#c", "/@user"])("takes %s", (path) => {
    expect(returnPathAllowed(path)).toBe(true);
  });
  it.each(["//evil.example", "/\\evil.example", "https://evil.example/", "settings", "/a\nb", "/a\\b", ""])(
    "refuses %j",
    (path) => expect(returnPathAllowed(path)).toBe(false),
  );
});

describe("the flow cookie", () => {
  const flow: FlowState = {
    provider: "oidc",
    state: "s".repeat(43),
    codeVerifier: "v".repeat(43),
    nonce: "n".repeat(43),
    returnTo: "/",
    expiresAt: 1_800_000_000_000,
  };
  const secret = "x".repeat(40);

  it("opens what was sealed with the same secret", () => {
    expect(openFlow(secret, sealFlow(secret, flow))).toEqual(flow);
  });

  it("refuses another secret, a changed payload or signature, and junk", () => {
    const sealed = sealFlow(secret, flow);
    const [payload, signature] = sealed.split(".") as [string, string];
    const changed = Buffer.from(JSON.stringify({ ...flow, linkUserId: "someone" })).toString("base64url");
    expect(openFlow("y".repeat(40), sealed)).toBeUndefined();
    expect(openFlow(secret, `${changed}.${signature}`)).toBeUndefined();
    expect(openFlow(secret, `${payload}.${signature.slice(0, -2)}AA`)).toBeUndefined();
    for (const junk of [undefined, "", ".", "a.b.c", payload, "x".repeat(9_000)]) {
      expect(openFlow(secret, junk)).toBeUndefined();
    }
  });
});

describe("ID token claims as a profile", () => {
  it('takes email_verified true or "true" only, lower-cases the address, prefers preferred_username', () => {
    const base = { sub: "123", email: "Person@Example.COM", preferred_username: "person", nickname: "nick" };
    expect(profileFromClaims("oidc", { ...base, email_verified: true })).toEqual({
      provider: "oidc",
      providerUserId: "123",
      email: "person@example.com",
      emailVerified: true,
      usernameHint: "person",
    });
    expect(profileFromClaims("google", { ...base, email_verified: "true" }).emailVerified).toBe(true);
    for (const value of [false, "false", undefined, 1]) {
      expect(profileFromClaims("oidc", { ...base, email_verified: value }).emailVerified).toBe(false);
    }
    expect(profileFromClaims("oidc", { sub: "1", nickname: "nick" })).toMatchObject({
      email: null,
      usernameHint: "nick",
    });
  });
});
