// PKCE and the browser half of provider sign-in, where no server is needed.
import { describe, expect, it } from "vitest";

import {
  beginProviderSignIn,
  completeProviderSignIn,
  createClient,
  createPkce,
  OAUTH_PENDING_KEY,
  OAuthSignInError,
  pkceChallenge,
  providerSignInUrl,
} from "../src/index.ts";
import { base64url, constantTimeEqual, randomToken } from "../src/oauth/pkce.ts";

// RFC 7636 Appendix B: the verifier's 32 octets, the verifier, and its S256 challenge.
const APPENDIX_B_OCTETS = [
  116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191, 240, 91,
  88, 5, 88, 83, 132, 141, 121,
];
const APPENDIX_B_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const APPENDIX_B_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/** sessionStorage's interface over a Map. */
function memoryStorage() {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
}

// A client whose every call fails at the network: the paths tested here must refuse before any exchange.
const unreachable = createClient({ url: "http://127.0.0.1:9", auth: { mode: "cookie" } });

describe("PKCE (RFC 7636, S256)", () => {
  it("matches Appendix B: the octets encode to the verifier, whose challenge is the RFC's", async () => {
    expect(base64url(Uint8Array.from(APPENDIX_B_OCTETS))).toBe(APPENDIX_B_VERIFIER);
    expect(await pkceChallenge(APPENDIX_B_VERIFIER)).toBe(APPENDIX_B_CHALLENGE);
  });

  it("makes 43-character verifiers of the unreserved alphabet, each new, with their challenges", async () => {
    const pairs = await Promise.all(Array.from({ length: 50 }, () => createPkce()));
    for (const { verifier, challenge } of pairs) {
      expect(verifier).toMatch(/^[A-Za-z0-9\-_]{43}$/);
      expect(challenge).toMatch(/^[A-Za-z0-9\-_]{43}$/);
      expect(challenge).toBe(await pkceChallenge(verifier));
    }
    expect(new Set(pairs.map((pair) => pair.verifier)).size).toBe(50);
  });

  it("encodes every byte value (base64url: - and _ instead of + and /, no padding)", () => {
    expect(base64url(Uint8Array.from([0xfb, 0xff]))).toBe("-_8");
    expect(base64url(new Uint8Array(0))).toBe("");
    expect(randomToken(16)).toMatch(/^[A-Za-z0-9\-_]{22}$/);
  });

  it("compares states whole", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
    expect(constantTimeEqual("", "")).toBe(true);
  });
});

describe("browser sign-in URLs and the pending sign-in", () => {
  it("providerSignInUrl: the same-site start URL, with return_to when given", () => {
    expect(providerSignInUrl("https://api.example.com/", "github")).toBe(
      "https://api.example.com/api/auth/oauth/github/start",
    );
    const url = new URL(providerSignInUrl("https://api.example.com", "oidc", { returnTo: "/settings?tab=1" }));
    expect(url.pathname).toBe("/api/auth/oauth/oidc/start");
    expect(url.searchParams.get("return_to")).toBe("/settings?tab=1");
    const linking = new URL(
      providerSignInUrl("https://api.example.com", "github", { returnTo: "/settings", link: true }),
    );
    expect(Object.fromEntries(linking.searchParams)).toEqual({ return_to: "/settings", link: "1" });
  });

  it("beginProviderSignIn: keeps the verifier and state, and sends only the challenge and state", async () => {
    const storage = memoryStorage();
    const redirectUri = "https://app.example.org/oauth/done";
    const started = new URL(
      await beginProviderSignIn("https://api.example.com", "google", { redirectUri, storage, navigate: false }),
    );
    expect(started.origin + started.pathname).toBe("https://api.example.com/api/auth/oauth/google/start");
    const pending = JSON.parse(storage.getItem(OAUTH_PENDING_KEY)!) as Record<string, string>;
    expect(pending).toMatchObject({ provider: "google", redirectUri });
    expect(Object.fromEntries(started.searchParams)).toEqual({
      redirect_uri: redirectUri,
      code_challenge: await pkceChallenge(pending.verifier!),
      state: pending.state,
    });
    expect(started.toString()).not.toContain(pending.verifier);
  });

  it("completeProviderSignIn refuses another state, a tab with no pending sign-in, and forgets the pending one", async () => {
    const storage = memoryStorage();
    const redirectUri = "https://app.example.org/oauth/done";
    await beginProviderSignIn("https://api.example.com", "github", { redirectUri, storage, navigate: false });
    const refused = await completeProviderSignIn(unreachable, {
      url: `${redirectUri}?code=abc&state=someone-elses`,
      storage,
    }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OAuthSignInError);
    expect(refused).toMatchObject({ code: "invalid_state", link: null });
    // One try per begin: the right state afterwards finds nothing pending.
    expect(storage.items.size).toBe(0);
    await expect(
      completeProviderSignIn(unreachable, { url: `${redirectUri}?code=abc&state=x`, storage }),
    ).rejects.toMatchObject({ code: "invalid_state" });
  });

  it("completeProviderSignIn turns the server's error into OAuthSignInError, with the link token for link_required", async () => {
    const storage = memoryStorage();
    const redirectUri = "https://app.example.org/oauth/done";
    const begin = async () => {
      const url = await beginProviderSignIn("https://api.example.com", "oidc", {
        redirectUri,
        storage,
        navigate: false,
      });
      return new URL(url).searchParams.get("state")!;
    };
    let state = await begin();
    await expect(
      completeProviderSignIn(unreachable, { url: `${redirectUri}?error=access_denied&state=${state}`, storage }),
    ).rejects.toMatchObject({
      name: "OAuthSignInError",
      code: "access_denied",
      message: expect.stringMatching(/cancelled/),
    });
    state = await begin();
    await expect(
      completeProviderSignIn(unreachable, {
        url: `${redirectUri}?error=link_required&link=L1nk&state=${state}`,
        storage,
      }),
    ).rejects.toMatchObject({ code: "link_required", link: "L1nk" });
    state = await begin();
    await expect(
      completeProviderSignIn(unreachable, { url: `${redirectUri}?state=${state}`, storage }),
    ).rejects.toMatchObject({ code: "invalid_callback" });
    expect(storage.items.size).toBe(0);
  });
});
