// Sign-in with GitHub end to end, in Node: a stand-in for GitHub on a loopback port that behaves as GitHub
// documents its OAuth app flow (docs.github.com, "Authorizing OAuth apps"): /login/oauth/authorize sends the
// browser back with `code` and `state`; /login/oauth/access_token checks the client, the redirect URI, the code
// and PKCE (S256), answers JSON only when asked for it, and refuses with HTTP 200 and an `error` field; the REST
// API's /user and /user/emails want a bearer token and a User-Agent. This server on another port is pointed at
// it (only through buildServer's `githubUrls`); the browser is played by fetch, following redirects by hand.
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { loadConfig } from "../src/config.ts";
import { buildServer, type PromptBoosterServer } from "../src/server.ts";
import { allowedOrigin } from "./support/server.ts";
import { captureJsonLog } from "./support/log.ts";

const CLIENT_ID = "Iv1.github-test-client";
const CLIENT_SECRET = "github-test-secret-0123456789";

interface GitHubUser {
  id: number;
  login: string;
  emails: { email: string; primary: boolean; verified: boolean; visibility: string | null }[];
}

interface TokenRequestSeen {
  status: number;
  accept: string | undefined;
  userAgent: string | undefined;
  codeVerifier: string | null;
  answer: Record<string, string>;
}

/** GitHub as far as an OAuth app sees it. `signedInAs` is who is signed in at github.com in "the browser". */
function fakeGitHub() {
  const users = new Map<string, GitHubUser>();
  const codes = new Map<string, { user: GitHubUser; challenge: string | null; redirectUri: string | null }>();
  const tokens = new Map<string, GitHubUser>();
  const seen = {
    authorize: [] as URLSearchParams[],
    token: [] as TokenRequestSeen[],
    api: [] as { path: string; accept: string | undefined; userAgent: string | undefined }[],
  };
  let nextId = 1000;
  const state = {
    signedInAs: undefined as GitHubUser | undefined,
    /** The callback URL registered for the OAuth app. */
    callbackUrl: "",
  };

  const readBody = async (request: http.IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString();
  };
  const json = (response: http.ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { "content-type": "application/json; charset=utf-8" });
    response.end(JSON.stringify(body));
  };

  const tokenEndpoint = async (request: http.IncomingMessage, response: http.ServerResponse) => {
    const form = new URLSearchParams(await readBody(request));
    // GitHub takes the client's credentials as form fields (documented) or HTTP Basic (what arctic sends).
    let clientId = form.get("client_id");
    let clientSecret = form.get("client_secret");
    const basic = /^Basic (.+)$/i.exec(request.headers.authorization ?? "");
    if (basic) {
      const decoded = Buffer.from(basic[1]!, "base64").toString();
      const colon = decoded.indexOf(":");
      [clientId, clientSecret] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
    }
    const codeVerifier = form.get("code_verifier");
    const answer = ((): Record<string, string> => {
      if (clientId !== CLIENT_ID || clientSecret !== CLIENT_SECRET) return { error: "incorrect_client_credentials" };
      const code = form.get("code") ?? "";
      const grant = codes.get(code);
      // A code is good once (GitHub: "bad_verification_code" for an unknown, used or expired one).
      codes.delete(code);
      if (!grant) return { error: "bad_verification_code" };
      if (form.get("redirect_uri") !== null && form.get("redirect_uri") !== grant.redirectUri) {
        return { error: "redirect_uri_mismatch" };
      }
      if (grant.challenge !== null) {
        const expected = codeVerifier === null ? null : createHash("sha256").update(codeVerifier).digest("base64url");
        if (expected !== grant.challenge) return { error: "bad_verification_code" };
      }
      const accessToken = `gho_${randomBytes(18).toString("base64url")}`;
      tokens.set(accessToken, grant.user);
      return { access_token: accessToken, token_type: "bearer", scope: "read:user,user:email" };
    })();
    const accept = request.headers.accept;
    seen.token.push({ status: 200, accept, userAgent: request.headers["user-agent"], codeVerifier, answer });
    // Refusals too come with HTTP 200 (GitHub's token endpoint); form-encoded unless JSON was asked for.
    if (accept?.includes("application/json")) return json(response, 200, answer);
    response.writeHead(200, { "content-type": "application/x-www-form-urlencoded; charset=utf-8" });
    response.end(new URLSearchParams(answer).toString());
  };

  const server = http.createServer((request, response) => {
    const url = new URL(request.url!, "http://github.test");
    if (request.method === "GET" && url.pathname === "/login/oauth/authorize") {
      const query = url.searchParams;
      seen.authorize.push(query);
      const redirectUri = query.get("redirect_uri") ?? state.callbackUrl;
      if (query.get("client_id") !== CLIENT_ID || redirectUri !== state.callbackUrl || !state.signedInAs) {
        response.writeHead(400).end("The redirect_uri is not associated with this application.");
        return;
      }
      const method = query.get("code_challenge_method");
      const challenge = query.get("code_challenge");
      if (challenge !== null && method !== "S256") {
        response.writeHead(400).end("code_challenge_method must be S256");
        return;
      }
      const code = randomBytes(10).toString("hex");
      codes.set(code, { user: state.signedInAs, challenge, redirectUri: query.get("redirect_uri") });
      const back = new URL(redirectUri);
      back.searchParams.set("code", code);
      back.searchParams.set("state", query.get("state") ?? "");
      response.writeHead(302, { location: back.toString() }).end();
      return;
    }
    if (request.method === "POST" && url.pathname === "/login/oauth/access_token") {
      void tokenEndpoint(request, response);
      return;
    }
    if (request.method === "GET" && (url.pathname === "/user" || url.pathname === "/user/emails")) {
      seen.api.push({ path: url.pathname, accept: request.headers.accept, userAgent: request.headers["user-agent"] });
      // The REST API refuses requests without a User-Agent.
      if (!request.headers["user-agent"]) return json(response, 403, { message: "Missing User-Agent header" });
      const token = /^(?:Bearer|token) (.+)$/i.exec(request.headers.authorization ?? "")?.[1];
      const user = token === undefined ? undefined : tokens.get(token);
      if (!user) return json(response, 401, { message: "Bad credentials" });
      if (url.pathname === "/user") return json(response, 200, { id: user.id, login: user.login, type: "User" });
      return json(response, 200, user.emails);
    }
    json(response, 404, { message: "Not Found" });
  });

  return {
    server,
    seen,
    state,
    addUser(login: string, email: string, verified: boolean): GitHubUser {
      const user: GitHubUser = {
        id: nextId++,
        login,
        emails: [
          { email: `${login}@users.noreply.github.com`, primary: false, verified: true, visibility: null },
          { email, primary: true, verified, visibility: "private" },
        ],
      };
      users.set(login, user);
      return user;
    },
  };
}

let github: ReturnType<typeof fakeGitHub>;
let githubUrl: string;
let testDb: TestDb;
let server: PromptBoosterServer;
let serverUrl: string;
const { lines: logLines, stream: logStream } = captureJsonLog();
/** Why the server refused the last provider sign-in, as it logged it. */
const lastRefusal = () => logLines.filter((line) => line.msg === "provider sign-in refused").at(-1)?.reason;

/** The desktop app's loopback redirect URI; the flow stops at it (nothing needs to listen there). */
const appRedirect = "http://127.0.0.1:9/callback";

beforeAll(async () => {
  github = fakeGitHub();
  await new Promise<void>((resolve) => github.server.listen(0, "127.0.0.1", resolve));
  githubUrl = `http://127.0.0.1:${(github.server.address() as AddressInfo).port}`;
  testDb = await createTestDb();
  const config = loadConfig({
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    PORT: "0",
    LOG_LEVEL: "info",
    CORS_ORIGINS: allowedOrigin,
    APP_URL: allowedOrigin,
    OAUTH_GITHUB_CLIENT_ID: CLIENT_ID,
    OAUTH_GITHUB_CLIENT_SECRET: CLIENT_SECRET,
    AUTH_RATE_LIMIT_PER_IP: "1000",
  });
  // Both GitHub hosts (web and API) played by the one stand-in.
  server = await buildServer(config, { db: testDb.db, githubUrls: { web: githubUrl, api: githubUrl }, logStream });
  serverUrl = await server.start();
  github.state.callbackUrl = `${serverUrl}/api/auth/oauth/github/callback`;
});
afterAll(async () => {
  github.server.closeAllConnections();
  await new Promise((resolve) => github.server.close(resolve));
  await server?.stop();
  await testDb?.dispose();
});

function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

/**
 * The browser's part of a desktop sign-in: /start → GitHub's authorize → our callback, carrying the flow cookie.
 * `atGitHub` may rewrite the authorize URL or the code on the way (an attacker's part); the answer is the
 * app's redirect with its query.
 */
async function desktopSignIn(
  user: GitHubUser,
  options: { authorizeUrl?: (url: URL) => void; callbackUrl?: (url: URL) => void } = {},
) {
  const { verifier, challenge } = pkce();
  const appState = randomBytes(16).toString("base64url");
  github.state.signedInAs = user;
  const start = await fetch(
    `${serverUrl}/api/auth/oauth/github/start?${new URLSearchParams({
      redirect_uri: appRedirect,
      code_challenge: challenge,
      state: appState,
    }).toString()}`,
    { redirect: "manual" },
  );
  expect(start.status).toBe(302);
  const cookie = start.headers
    .getSetCookie()
    .map((line) => line.split(";")[0]!)
    .join("; ");
  const authorize = new URL(start.headers.get("location")!);
  expect(authorize.origin + authorize.pathname).toBe(`${githubUrl}/login/oauth/authorize`);
  options.authorizeUrl?.(authorize);
  const atGitHub = await fetch(authorize, { redirect: "manual" });
  expect(atGitHub.status).toBe(302);
  const callback = new URL(atGitHub.headers.get("location")!);
  expect(callback.origin + callback.pathname).toBe(github.state.callbackUrl);
  options.callbackUrl?.(callback);
  const back = await fetch(callback, { redirect: "manual", headers: { cookie } });
  expect(back.status).toBe(302);
  const toApp = new URL(back.headers.get("location")!);
  expect(toApp.origin + toApp.pathname).toBe(appRedirect);
  expect(toApp.searchParams.get("state")).toBe(appState);
  return { query: toApp.searchParams, verifier, authorize };
}

interface Answer {
  token: string;
  user: { id: string; email: string; username: string };
  identities: unknown[];
  hasPassword: boolean;
  details?: Record<string, unknown>;
}

async function exchange(code: string, codeVerifier: string) {
  const response = await fetch(`${serverUrl}/api/auth/oauth/exchange`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code, codeVerifier, redirectUri: appRedirect, deviceName: "GitHub test" }),
  });
  return { status: response.status, body: (await response.json()) as Answer };
}

const unique = () => randomBytes(4).toString("hex");

describe("sign-in with GitHub (OAuth app, PKCE S256)", () => {
  it("a first sign-in creates an account from /user and the verified primary of /user/emails", async () => {
    const user = github.addUser(`octo-${unique()}`, `Octo-${unique()}@Example.com`, true);
    const tokenRequests = github.seen.token.length;
    const { query, verifier, authorize } = await desktopSignIn(user);
    // The authorization request carries PKCE S256 and the scopes the profile needs.
    expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authorize.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorize.searchParams.get("scope")).toBe("read:user user:email");
    // Our server's verifier, not the app's: the app's challenge never reaches GitHub.
    const tokenRequest = github.seen.token.at(-1)!;
    expect(github.seen.token.length).toBe(tokenRequests + 1);
    expect(tokenRequest.codeVerifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    expect(tokenRequest.codeVerifier).not.toBe(verifier);
    expect(tokenRequest.accept).toContain("application/json");
    expect(tokenRequest.answer.access_token).toBeDefined();
    const apiCalls = github.seen.api.slice(-2);
    expect(apiCalls.map((call) => call.path).sort()).toEqual(["/user", "/user/emails"]);
    for (const call of apiCalls) {
      expect(call.accept).toBe("application/vnd.github+json");
      expect(call.userAgent).toBeTruthy();
    }

    const code = query.get("code")!;
    expect(query.get("error")).toBeNull();
    const signedIn = await exchange(code, verifier);
    expect(signedIn.status).toBe(200);
    const primary = user.emails.find((entry) => entry.primary)!.email.toLowerCase();
    expect(signedIn.body.user.email).toBe(primary);
    expect(signedIn.body.user.username).toBe(user.login);

    const identities = await fetch(`${serverUrl}/api/auth/identities`, {
      headers: { authorization: `Bearer ${signedIn.body.token}` },
    });
    expect(await identities.json()).toMatchObject({
      identities: [{ provider: "github", email: primary }],
      hasPassword: false,
    });

    // The same GitHub account again: the same account here (by GitHub's user id), no second one.
    const again = await desktopSignIn(user);
    const second = await exchange(again.query.get("code")!, again.verifier);
    expect(second.status).toBe(200);
    expect(second.body.user.id).toBe(signedIn.body.user.id);
    // Nothing secret in the server's log: no client secret, provider code or token, nor our code or token.
    const logged = JSON.stringify(logLines);
    for (const secret of [CLIENT_SECRET, code, signedIn.body.token, tokenRequest.answer.access_token!]) {
      expect(logged).not.toContain(secret);
    }
  });

  it("a code bound to another PKCE challenge is refused by GitHub: provider_error, no account", async () => {
    const user = github.addUser(`inject-${unique()}`, `inject-${unique()}@example.com`, true);
    // The code GitHub issues answers another verifier (e.g. an attacker's own flow pasted into this one).
    const { query } = await desktopSignIn(user, {
      authorizeUrl: (url) => url.searchParams.set("code_challenge", pkce().challenge),
    });
    expect(query.get("error")).toBe("provider_error");
    expect(query.get("code")).toBeNull();
    expect(github.seen.token.at(-1)!.answer).toEqual({ error: "bad_verification_code" });
    expect(lastRefusal()).toBe("the provider refused the code: bad_verification_code");
    const register = await fetch(`${serverUrl}/api/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        email: user.emails[1]!.email,
        username: `u_${unique()}`,
        password: "correct horse battery",
      }),
    });
    expect(register.status).toBe(200);
  });

  it("the stand-in refuses a token request with no or a wrong code_verifier, as GitHub does", async () => {
    const user = github.addUser(`direct-${unique()}`, `direct-${unique()}@example.com`, true);
    github.state.signedInAs = user;
    const { challenge, verifier } = pkce();
    const codeFor = async () => {
      const authorize = new URL(`${githubUrl}/login/oauth/authorize`);
      authorize.search = new URLSearchParams({
        client_id: CLIENT_ID,
        redirect_uri: github.state.callbackUrl,
        state: "s",
        code_challenge: challenge,
        code_challenge_method: "S256",
      }).toString();
      const response = await fetch(authorize, { redirect: "manual" });
      return new URL(response.headers.get("location")!).searchParams.get("code")!;
    };
    const redeem = async (code: string, codeVerifier?: string) => {
      const form = new URLSearchParams({
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        code,
        redirect_uri: github.state.callbackUrl,
      });
      if (codeVerifier !== undefined) form.set("code_verifier", codeVerifier);
      const response = await fetch(`${githubUrl}/login/oauth/access_token`, {
        method: "POST",
        headers: { accept: "application/json", "content-type": "application/x-www-form-urlencoded" },
        body: form,
      });
      return { status: response.status, body: (await response.json()) as Record<string, string> };
    };
    expect(await redeem(await codeFor())).toEqual({ status: 200, body: { error: "bad_verification_code" } });
    expect(await redeem(await codeFor(), pkce().verifier)).toEqual({
      status: 200,
      body: { error: "bad_verification_code" },
    });
    const good = await redeem(await codeFor(), verifier);
    expect(good.body).toMatchObject({ token_type: "bearer", access_token: expect.stringMatching(/^gho_/) });
  });

  it("an unverified primary email neither creates nor links an account: email_unverified", async () => {
    const user = github.addUser(`unverified-${unique()}`, `unverified-${unique()}@example.com`, false);
    const { query } = await desktopSignIn(user);
    expect(query.get("error")).toBe("email_unverified");
    expect(query.get("code")).toBeNull();
  });

  it("GitHub's refusal of a code in an HTTP 200 answer (bad_verification_code) is provider_error", async () => {
    const user = github.addUser(`badcode-${unique()}`, `badcode-${unique()}@example.com`, true);
    // An unknown, used or expired code: GitHub answers 200 with {"error": "bad_verification_code", …}.
    const { query } = await desktopSignIn(user, {
      callbackUrl: (url) => url.searchParams.set("code", randomBytes(10).toString("hex")),
    });
    expect(query.get("error")).toBe("provider_error");
    expect(query.get("code")).toBeNull();
    const refused = github.seen.token.at(-1)!;
    expect(refused.status).toBe(200);
    expect(refused.answer).toEqual({ error: "bad_verification_code" });
    // Read as GitHub's refusal (its error code logged), not as a token answer missing its token.
    expect(lastRefusal()).toBe("the provider refused the code: bad_verification_code");
  });

  it("a verified email of an existing account is not signed into silently: link_required", async () => {
    const email = `existing-${unique()}@example.com`;
    const register = await fetch(`${serverUrl}/api/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, username: `u_${unique()}`, password: "correct horse battery" }),
    });
    expect(register.status).toBe(200);
    const { query } = await desktopSignIn(github.addUser(`existing-${unique()}`, email, true));
    expect(query.get("error")).toBe("link_required");
    expect(query.get("link")).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
