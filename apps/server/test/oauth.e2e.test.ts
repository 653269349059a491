// Provider sign-in end to end, in Node: a real OpenID Provider (oidc-provider) on a loopback port, this
// server on another, and a desktop app's loopback listener on a third. The browser is played by fetch with a
// cookie jar (support/oidc-provider.ts) through the provider's own login and consent pages.
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { signUp } from "./support/auth.ts";
import { captureJsonLog } from "./support/log.ts";
import { CookieJar, driveSignIn, startOidcProvider, type TestOidcProvider } from "./support/oidc-provider.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

const APP_URL = "http://app.test";
let idp: TestOidcProvider;
let t: TestServer;
let offsetMs = 0;
const { lines: logLines, stream: logStream } = captureJsonLog();

/** The desktop app's one-shot loopback listener (RFC 8252): it records what the browser brings back. */
let app: http.Server;
let appUrl: string;
const received: URLSearchParams[] = [];

beforeAll(async () => {
  idp = await startOidcProvider();
  t = await startTestServer({
    // Every callback and exchange counts as a login attempt of this one IP: room for the whole file.
    env: {
      ...idp.env,
      APP_URL,
      OAUTH_DESKTOP_SCHEMES: "promptbooster",
      LOG_LEVEL: "info",
      AUTH_RATE_LIMIT_PER_IP: "1000",
    },
    clock: { now: () => new Date(Date.now() + offsetMs) },
    logStream,
  });
  app = http.createServer((request, response) => {
    received.push(new URL(request.url!, "http://127.0.0.1").searchParams);
    response.end("You can close this window.");
  });
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
  appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}/callback`;
});
afterAll(async () => {
  app.closeAllConnections();
  await new Promise((resolve) => app.close(resolve));
  await t.close();
  await idp.close();
});

function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

function startUrl(params: Record<string, string>, provider = "oidc") {
  return `${t.url}/api/auth/oauth/${provider}/start?${new URLSearchParams(params).toString()}`;
}

/** The desktop flow up to the app's listener: the query the app received. */
async function desktopSignIn(login: string, options: { cancel?: boolean; redirectUri?: string } = {}) {
  const { verifier, challenge } = pkce();
  const state = randomBytes(16).toString("base64url");
  const redirectUri = options.redirectUri ?? appUrl;
  const { final } = await driveSignIn(startUrl({ redirect_uri: redirectUri, code_challenge: challenge, state }), {
    login,
    issuer: idp.issuer,
    cancel: options.cancel,
  });
  const returned = new URL(final.url);
  expect(final.url.split("?")[0]).toBe(redirectUri);
  // The browser arrives at the app's listener.
  if (redirectUri === appUrl) await fetch(final.url);
  const query = redirectUri === appUrl ? received.at(-1)! : returned.searchParams;
  expect(query.get("state")).toBe(state);
  return { query, verifier, redirectUri };
}

/** The fields these tests read of REST answers (auth results, errors, identities). */
interface Answer {
  token: string;
  user: { id: string; email: string; username: string; emailVerifiedAt?: string | null };
  details?: Record<string, unknown>;
  identities: unknown[];
  hasPassword: boolean;
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${t.url}/api${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Answer };
}

async function get(path: string, token: string) {
  const response = await fetch(`${t.url}/api${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as Answer };
}

const exchange = (code: string, codeVerifier: string, redirectUri = appUrl) =>
  post("/auth/oauth/exchange", { code, codeVerifier, redirectUri, deviceName: "Desktop test" });

describe("desktop sign-in (code flow, loopback redirect)", () => {
  it("a first sign-in creates a password-less account and the code is exchanged for a token, once", async () => {
    const account = idp.addAccount({
      email: `first-${randomBytes(4).toString("hex")}@example.com`,
      emailVerified: true,
      preferredUsername: "Ada Lovelace!",
    });
    const warningsBefore = logLines.filter((line) => (line.level as number) >= 40).length;
    const { query, verifier } = await desktopSignIn(account.id);
    const code = query.get("code")!;
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const signedIn = await exchange(code, verifier);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body.user.email).toBe(account.email);
    expect(signedIn.body.user.username).toBe("AdaLovelace");
    const me = await get("/auth/me", signedIn.body.token);
    expect(me.body.user.emailVerifiedAt).not.toBeNull();
    const identities = await get("/auth/identities", signedIn.body.token);
    expect(identities.body).toMatchObject({
      identities: [{ provider: "oidc", email: account.email }],
      hasPassword: false,
    });

    // Replayed: refused, with the one answer.
    const replay = await exchange(code, verifier);
    expect(replay.status).toBe(401);
    expect(replay.body.details).toMatchObject({ reason: "invalidCode" });

    // The second sign-in finds the identity: the same account, no new one.
    const again = await desktopSignIn(account.id);
    const second = await exchange(again.query.get("code")!, again.verifier);
    expect(second.body.user.id).toBe(signedIn.body.user.id);

    // A successful flow leaves no warning in the log, and no code or token in any line.
    const lines = logLines.filter((line) => (line.level as number) >= 40);
    expect(lines.length).toBe(warningsBefore);
    const logText = JSON.stringify(logLines);
    expect(logText).not.toContain(code);
    expect(logText).not.toContain(signedIn.body.token);
    expect(logText).not.toContain(idp.clientSecret);
  });

  it("a wrong PKCE verifier is refused and burns the code; so does another redirect URI", async () => {
    const first = await desktopSignIn(idp.verified.id);
    const wrong = await exchange(first.query.get("code")!, pkce().verifier);
    expect(wrong.status).toBe(401);
    expect(wrong.body.details).toMatchObject({ reason: "invalidCode" });
    const right = await exchange(first.query.get("code")!, first.verifier);
    expect(right.status).toBe(401);

    const second = await desktopSignIn(idp.verified.id);
    const elsewhere = await exchange(second.query.get("code")!, second.verifier, "http://127.0.0.1:1/callback");
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.body.details).toMatchObject({ reason: "invalidCode" });
  });

  it("an expired code is refused (the server's clock moved past its 60 seconds)", async () => {
    const { query, verifier } = await desktopSignIn(idp.verified.id);
    offsetMs = 61_000;
    try {
      const late = await exchange(query.get("code")!, verifier);
      expect(late.status).toBe(401);
      expect(late.body.details).toMatchObject({ reason: "invalidCode" });
    } finally {
      offsetMs = 0;
    }
  });

  it("a page of an origin in CORS_ORIGINS (a web app of another site) receives the code", async () => {
    const { query, verifier, redirectUri } = await desktopSignIn(idp.verified.id, {
      redirectUri: "http://app.test/oauth/done",
    });
    const signedIn = await exchange(query.get("code")!, verifier, redirectUri);
    expect(signedIn.status).toBe(200);
  });

  it("a custom scheme of OAUTH_DESKTOP_SCHEMES receives the code", async () => {
    const { query, verifier, redirectUri } = await desktopSignIn(idp.verified.id, {
      redirectUri: "promptbooster://oauth/callback",
    });
    const signedIn = await exchange(query.get("code")!, verifier, redirectUri);
    expect(signedIn.status).toBe(200);
  });
});

describe("refusals", () => {
  it("a tampered state comes back as invalid_state, and the code is never redeemed", async () => {
    const { challenge } = pkce();
    const drive = await driveSignIn(startUrl({ redirect_uri: appUrl, code_challenge: challenge, state: "app-state" }), {
      login: idp.verified.id,
      issuer: idp.issuer,
      stopAt: (url) => url.startsWith(`${t.url}/api/auth/oauth/oidc/callback`),
    });
    const callback = new URL(drive.final.url);
    callback.searchParams.set("state", `${callback.searchParams.get("state")}x`);
    const { final } = await driveSignIn(callback.href, { login: idp.verified.id, issuer: idp.issuer, jar: drive.jar });
    const query = new URL(final.url).searchParams;
    expect(query.get("error")).toBe("invalid_state");
    expect(query.get("state")).toBe("app-state");
    expect(query.get("code")).toBeNull();
  });

  it("a flow older than its 10 minutes comes back as invalid_state", async () => {
    const { challenge } = pkce();
    const drive = await driveSignIn(startUrl({ redirect_uri: appUrl, code_challenge: challenge, state: "late" }), {
      login: idp.verified.id,
      issuer: idp.issuer,
      stopAt: (url) => url.startsWith(`${t.url}/api/auth/oauth/oidc/callback`),
    });
    offsetMs = 10 * 60_000 + 1_000;
    try {
      const { final } = await driveSignIn(drive.final.url, {
        login: idp.verified.id,
        issuer: idp.issuer,
        jar: drive.jar,
      });
      expect(new URL(final.url).searchParams.get("error")).toBe("invalid_state");
    } finally {
      offsetMs = 0;
    }
  });

  it("two exchanges of one code at once: exactly one signs in", async () => {
    const { query, verifier } = await desktopSignIn(idp.verified.id);
    const answers = await Promise.all([1, 2, 3].map(() => exchange(query.get("code")!, verifier)));
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 401, 401]);
  });

  it("a callback without the flow cookie has nowhere vetted to go: 400", async () => {
    const response = await fetch(`${t.url}/api/auth/oauth/oidc/callback?code=abc&state=def`, { redirect: "manual" });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { code: string }).code).toBe("BAD_REQUEST");
  });

  it("a forged flow cookie is refused like a missing one", async () => {
    const jar = new CookieJar();
    jar.set(t.url, "pb_oauth", "eyJwcm92aWRlciI6Im9pZGMifQ.AAAA");
    const response = await fetch(`${t.url}/api/auth/oauth/oidc/callback?code=abc&state=def`, {
      redirect: "manual",
      headers: { cookie: jar.header(t.url) },
    });
    expect(response.status).toBe(400);
  });

  for (const tampering of ["nonce", "aud", "signature", "iss", "expired"] as const) {
    it(`an ID token with a wrong ${tampering} is refused: provider_error`, async () => {
      idp.tamperIdToken = tampering;
      try {
        const { query } = await desktopSignIn(idp.verified.id);
        expect(query.get("error")).toBe("provider_error");
        expect(query.get("code")).toBeNull();
      } finally {
        idp.tamperIdToken = undefined;
      }
    });
  }

  it("cancelling at the provider comes back as access_denied", async () => {
    const { query } = await desktopSignIn(idp.verified.id, { cancel: true });
    expect(query.get("error")).toBe("access_denied");
  });

  it("an unverified provider email neither creates nor links an account: email_unverified", async () => {
    const { query } = await desktopSignIn(idp.unverified.id);
    expect(query.get("error")).toBe("email_unverified");
    const taken = await post("/auth/register", {
      email: idp.unverified.email,
      username: `u_${randomBytes(4).toString("hex")}`,
      password: "correct horse battery",
    });
    expect(taken.status).toBe(200);
  });

  it("redirect targets outside the allowed ones are refused before any redirect", async () => {
    const { challenge } = pkce();
    for (const redirectUri of [
      "http://localhost:4000/callback",
      "https://evil.example/callback",
      "javascript:alert(1)",
      "http://127.0.0.1.evil.example/callback",
      "otherscheme://callback",
    ]) {
      const response = await fetch(startUrl({ redirect_uri: redirectUri, code_challenge: challenge, state: "s" }), {
        redirect: "manual",
      });
      expect(response.status, redirectUri).toBe(400);
      expect(response.headers.get("location")).toBeNull();
      await response.body?.cancel();
    }
    for (const returnTo of ["//evil.example/", "/\\evil.example", "https://evil.example/"]) {
      const response = await fetch(startUrl({ return_to: returnTo }), { redirect: "manual" });
      expect(response.status, returnTo).toBe(400);
      await response.body?.cancel();
    }
    const unknown = await fetch(`${t.url}/api/auth/oauth/github/start`, { redirect: "manual" });
    expect(unknown.status).toBe(404);
    await unknown.body?.cancel();
  });
});

describe("same-site web app", () => {
  it("signs in with the session cookie and returns to APP_URL + return_to; the flow cookie is cleared", async () => {
    const { final, jar, steps } = await driveSignIn(startUrl({ return_to: "/settings?tab=account" }), {
      login: idp.verified.id,
      issuer: idp.issuer,
    });
    expect(final.url).toBe(`${APP_URL}/settings?tab=account`);
    expect(jar.get(t.url, "pb_oauth")).toBeUndefined();
    const session = jar.get(t.url, "pb_session");
    expect(session).toBeDefined();
    const startStep = steps[0]!;
    expect(startStep.status).toBe(302);
    const me = await get("/auth/me", session!);
    expect(me.body.user.email).toBe(idp.verified.email);
  });

  it("auth.providers lists the configured provider", async () => {
    const response = await fetch(`${t.url}/api/auth/providers`);
    const body = (await response.json()) as { oauth: unknown };
    expect(body.oauth).toEqual([{ id: "oidc", name: "OpenID Connect" }]);
  });
});

describe("an issuer written with a trailing slash", () => {
  it("is compared exactly as published, so sign-in works", async () => {
    const slashed = await startOidcProvider({ trailingSlash: true });
    const server = await startTestServer({ env: { ...slashed.env, APP_URL } });
    try {
      expect(slashed.issuer.endsWith("/")).toBe(true);
      const { final } = await driveSignIn(`${server.url}/api/auth/oauth/oidc/start?return_to=/`, {
        login: slashed.verified.id,
        issuer: slashed.issuer,
      });
      expect(final.url).toBe(`${APP_URL}/`);
    } finally {
      await server.close();
      await slashed.close();
    }
  });
});

describe("linking to an existing account", () => {
  it("a verified email of an existing account needs its password: link_required, then auth.oauthLink", async () => {
    const user = await signUp(t.url);
    const account = idp.addAccount({ email: user.email, emailVerified: true });
    const { query } = await desktopSignIn(account.id);
    expect(query.get("error")).toBe("link_required");
    const link = query.get("link")!;

    const wrong = await post("/auth/oauth/link", { link, password: "not the password" });
    expect(wrong.status).toBe(401);
    const linked = await post("/auth/oauth/link", { link, password: user.password });
    expect(linked.status).toBe(200);
    expect(linked.body.user.id).toBe(user.user.id);
    const reused = await post("/auth/oauth/link", { link, password: user.password });
    expect(reused.status).toBe(401);
    expect(reused.body.details).toMatchObject({ reason: "invalidLink" });

    // From now on the provider signs in to that account directly.
    const again = await desktopSignIn(account.id);
    const signedIn = await exchange(again.query.get("code")!, again.verifier);
    expect(signedIn.body.user.id).toBe(user.user.id);
    const identities = await get("/auth/identities", signedIn.body.token);
    expect(identities.body).toMatchObject({ hasPassword: true, identities: [{ provider: "oidc" }] });
  });

  it("a signed-in browser links a provider with link=1 and its session cookie; without one it is 401", async () => {
    const user = await signUp(t.url);
    const account = idp.addAccount({
      email: `linked-${randomBytes(4).toString("hex")}@example.com`,
      emailVerified: true,
    });
    const refused = await fetch(startUrl({ link: "1" }), { redirect: "manual" });
    expect(refused.status).toBe(401);
    await refused.body?.cancel();

    const jar = new CookieJar();
    jar.set(t.url, "pb_session", user.token);
    const { final } = await driveSignIn(startUrl({ link: "1", return_to: "/settings" }), {
      login: account.id,
      issuer: idp.issuer,
      jar,
    });
    expect(final.url).toBe(`${APP_URL}/settings?oauth_linked=oidc`);
    const identities = await get("/auth/identities", user.token);
    expect(identities.body.identities).toMatchObject([{ provider: "oidc", email: account.email }]);
  });

  it("a signed-in user links a provider with a ticket from auth.oauthLinkStart", async () => {
    const user = await signUp(t.url);
    const account = idp.addAccount({
      email: `other-${randomBytes(4).toString("hex")}@example.com`,
      emailVerified: false,
    });
    const ticket = await fetch(`${t.url}/trpc/auth.oauthLinkStart`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
      body: "{}",
    });
    const { result } = (await ticket.json()) as { result: { data: { json: { ticket: string } } } };
    const { challenge } = pkce();
    const { final } = await driveSignIn(
      startUrl({ redirect_uri: appUrl, code_challenge: challenge, state: "s", link_ticket: result.data.json.ticket }),
      { login: account.id, issuer: idp.issuer },
    );
    expect(new URL(final.url).searchParams.get("linked")).toBe("oidc");
    const identities = await get("/auth/identities", user.token);
    expect(identities.body.identities).toMatchObject([{ provider: "oidc", email: account.email }]);
  });
});
