import { TRPCClientError, createTRPCClient, httpBatchLink } from "@trpc/client";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { AppRouter } from "@prompt-booster/api";

import { authedClient, signUp } from "./support/auth.ts";
import { allowedOrigin, startTestServer, type TestServer } from "./support/server.ts";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ env: { AUTH_RATE_LIMIT_PER_IP: "10000" } });
});
afterAll(() => t.close());

const anonymous = () =>
  createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${t.url}/trpc`, transformer: superjson })] });

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (error instanceof TRPCClientError) return (error.data as { code?: string } | undefined)?.code;
    throw error;
  }
}

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${t.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

describe("auth over HTTP", () => {
  it("register → login by email and by username → me → logout; the old token is then refused", async () => {
    const account = await signUp(t.url);
    expect(account.user.email).toBe(account.email);

    const byEmail = await anonymous().auth.login.mutate({
      email: account.email.toUpperCase(),
      password: account.password,
    });
    const byUsername = await anonymous().auth.login.mutate({
      username: account.username.toUpperCase(),
      password: account.password,
      deviceName: "laptop",
    });
    expect(byEmail.user.id).toBe(account.user.id);
    expect(byUsername.expiresAt).toBeInstanceOf(Date);

    const client = authedClient(t.url, byUsername.token);
    const me = await client.auth.me.query();
    expect(me.user).toMatchObject({ id: account.user.id, email: account.email, username: account.username });

    await client.auth.logout.mutate();
    expect(await codeOf(client.auth.me.query())).toBe("UNAUTHORIZED");
    // The other sessions live on.
    expect((await authedClient(t.url, byEmail.token).auth.me.query()).user.id).toBe(account.user.id);
  });

  it("refreshToken returns a new token and kills the old one", async () => {
    const account = await signUp(t.url);
    const refreshed = await authedClient(t.url, account.token).auth.refreshToken.mutate();
    expect(refreshed.token).not.toBe(account.token);
    expect(await codeOf(authedClient(t.url, account.token).auth.me.query())).toBe("UNAUTHORIZED");
    expect((await authedClient(t.url, refreshed.token).auth.me.query()).user.id).toBe(account.user.id);
  });

  it("logoutAll kills every session of the user", async () => {
    const account = await signUp(t.url);
    const second = await anonymous().auth.login.mutate({ email: account.email, password: account.password });
    const { revoked } = await authedClient(t.url, second.token).auth.logoutAll.mutate();
    expect(revoked).toBe(2);
    expect(await codeOf(authedClient(t.url, account.token).auth.me.query())).toBe("UNAUTHORIZED");
    expect(await codeOf(authedClient(t.url, second.token).auth.me.query())).toBe("UNAUTHORIZED");
  });

  it("changePassword kills the other sessions, keeps the current one, and the new password works", async () => {
    const account = await signUp(t.url);
    const other = await anonymous().auth.login.mutate({ email: account.email, password: account.password });
    const client = authedClient(t.url, account.token);
    expect(
      await codeOf(
        client.auth.changePassword.mutate({ currentPassword: "wrong password", newPassword: "a new passphrase" }),
      ),
    ).toBe("FORBIDDEN");
    await client.auth.changePassword.mutate({ currentPassword: account.password, newPassword: "a new passphrase" });
    expect((await client.auth.me.query()).user.id).toBe(account.user.id);
    expect(await codeOf(authedClient(t.url, other.token).auth.me.query())).toBe("UNAUTHORIZED");
    expect(await codeOf(anonymous().auth.login.mutate({ email: account.email, password: account.password }))).toBe(
      "UNAUTHORIZED",
    );
    await anonymous().auth.login.mutate({ email: account.email, password: "a new passphrase" });
  });

  it("sessions.list marks the current session and shows device info; revoke ends another one", async () => {
    const account = await signUp(t.url, { deviceName: "desktop" });
    const phone = await fetch(`${t.url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "PhoneApp/1.0" },
      body: JSON.stringify({ username: account.username, password: account.password, deviceName: "phone" }),
    }).then((r) => r.json() as Promise<{ token: string }>);
    const client = authedClient(t.url, account.token);
    const sessions = await client.auth.sessions.list.query();
    expect(sessions).toHaveLength(2);
    const current = sessions.find((s) => s.current)!;
    const other = sessions.find((s) => !s.current)!;
    expect(current.deviceName).toBe("desktop");
    expect(other).toMatchObject({ deviceName: "phone", userAgent: "PhoneApp/1.0", ip: "127.0.0.1" });
    expect(other.createdAt).toBeInstanceOf(Date);

    await client.auth.sessions.revoke.mutate({ sessionId: other.id });
    expect(await codeOf(authedClient(t.url, phone.token).auth.me.query())).toBe("UNAUTHORIZED");
    // Someone else's session id is not found, and stays alive.
    const stranger = await signUp(t.url);
    const strangerSessions = await authedClient(t.url, stranger.token).auth.sessions.list.query();
    expect(await codeOf(client.auth.sessions.revoke.mutate({ sessionId: strangerSessions[0]!.id }))).toBe("NOT_FOUND");
    expect((await authedClient(t.url, stranger.token).auth.me.query()).user.id).toBe(stranger.user.id);
  });

  it("deleteAccount requires the password and removes every row of the user", async () => {
    const account = await signUp(t.url);
    const keep = await signUp(t.url);
    const client = authedClient(t.url, account.token);
    expect(await codeOf(client.auth.deleteAccount.mutate({ password: "not it at all" }))).toBe("FORBIDDEN");
    await client.auth.deleteAccount.mutate({ password: account.password });

    const prisma = t.server.db.prisma;
    const where = { userId: account.user.id };
    expect(await prisma.user.count({ where: { id: account.user.id } })).toBe(0);
    expect(await prisma.session.count({ where })).toBe(0);
    expect(await prisma.userSettings.count({ where })).toBe(0);
    expect(await prisma.template.count({ where })).toBe(0);
    expect(await prisma.promptGroup.count({ where })).toBe(0);
    expect(await prisma.promptVersion.count({ where })).toBe(0);
    expect(await codeOf(client.auth.me.query())).toBe("UNAUTHORIZED");
    expect(await prisma.user.count({ where: { id: keep.user.id } })).toBe(1);
  });

  it("the Session table holds no token that authenticates", async () => {
    const account = await signUp(t.url);
    const rows = await t.server.db.prisma.session.findMany({ where: { userId: account.user.id } });
    expect(rows).toHaveLength(1);
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(account.token);
    for (const row of rows) {
      for (const value of Object.values(row)) {
        if (typeof value !== "string") continue;
        expect(await codeOf(authedClient(t.url, value).auth.me.query())).toBe("UNAUTHORIZED");
        const cookie = await fetch(`${t.url}/api/auth/me`, { headers: { cookie: `pb_session=${value}` } });
        expect(cookie.status).toBe(401);
      }
    }
    // The real token still works: the refusals above are not a broken server.
    expect((await authedClient(t.url, account.token).auth.me.query()).user.id).toBe(account.user.id);
  });
});

describe("REST", () => {
  it("serves register, login, me, refresh-token and logout with the documented bodies", async () => {
    const register = await post("/api/auth/register", {
      email: "Rest.User@Example.com",
      username: "rest_user",
      password: "rest user passphrase",
    });
    expect(register.status).toBe(200);
    const registered = (await register.json()) as { token: string; expiresAt: string; user: Record<string, string> };
    expect(registered.user).toMatchObject({ email: "rest.user@example.com", username: "rest_user" });
    expect(new Date(registered.expiresAt).getTime()).toBeGreaterThan(Date.now());

    const login = await post("/api/auth/login", { email: "rest.user@example.com", password: "rest user passphrase" });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };
    const bearer = { authorization: `Bearer ${token}` };

    const me = await fetch(`${t.url}/api/auth/me`, { headers: bearer });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { user: { username: string } }).user.username).toBe("rest_user");

    const refresh = await post("/api/auth/refresh-token", {}, bearer);
    expect(refresh.status).toBe(200);
    const next = (await refresh.json()) as { token: string };
    expect((await fetch(`${t.url}/api/auth/me`, { headers: bearer })).status).toBe(401);

    const logout = await post("/api/auth/logout", {}, { authorization: `Bearer ${next.token}` });
    expect(logout.status).toBe(200);
    expect((await fetch(`${t.url}/api/auth/me`, { headers: { authorization: `Bearer ${next.token}` } })).status).toBe(
      401,
    );
  });

  it("answers 401 for bad credentials, the same for an unknown email, and 409 for a taken email", async () => {
    const account = await signUp(t.url);
    const wrong = await post("/api/auth/login", { email: account.email, password: "wrong password!" });
    const unknown = await post("/api/auth/login", { email: "nobody-here@example.com", password: "wrong password!" });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(((await wrong.json()) as { message: string }).message).toBe(
      ((await unknown.json()) as { message: string }).message,
    );
    const taken = await post("/api/auth/register", {
      email: account.email.toUpperCase(),
      username: "someone_else",
      password: "another passphrase",
    });
    expect(taken.status).toBe(409);
    expect(((await taken.json()) as { message: string }).message).toContain("email");
    const takenName = await post("/api/auth/register", {
      email: "fresh-address@example.com",
      username: account.username.toUpperCase(),
      password: "another passphrase",
    });
    expect(takenName.status).toBe(409);
    expect(((await takenName.json()) as { message: string }).message).toContain("username");
  });

  it("lists the auth paths in the OpenAPI document", async () => {
    const document = (await (await fetch(`${t.url}/api/openapi.json`)).json()) as { paths: Record<string, object> };
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(["/auth/register", "/auth/login", "/auth/refresh-token", "/auth/logout", "/auth/me"]),
    );
  });
});

describe("cookie sessions", () => {
  async function cookieLogin() {
    const account = await signUp(t.url);
    const response = await post("/api/auth/login", { email: account.email, password: account.password });
    const setCookie = response.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(/^pb_session=[a-z2-7]{32};/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).not.toMatch(/Secure/i);
    return { account, cookie: setCookie.split(";")[0]! };
  }

  it("a cookie authenticates queries, and mutations only with an allowed Origin", async () => {
    const { account, cookie } = await cookieLogin();
    const me = await fetch(`${t.url}/trpc/auth.me`, { headers: { cookie } });
    expect(me.status).toBe(200);

    const logout = (origin?: string) =>
      fetch(`${t.url}/trpc/auth.logout`, {
        method: "POST",
        headers: { cookie, "content-type": "application/json", ...(origin ? { origin } : {}) },
        body: "{}",
      });
    const foreign = await logout("http://evil.test");
    expect(foreign.status).toBe(403);
    const missing = await logout();
    expect(missing.status).toBe(403);
    const restForeign = await post("/api/auth/logout", {}, { cookie, origin: "http://evil.test" });
    expect(restForeign.status).toBe(403);
    // Still signed in: the refused requests changed nothing.
    expect((await fetch(`${t.url}/trpc/auth.me`, { headers: { cookie } })).status).toBe(200);

    const allowed = await logout(allowedOrigin);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get("set-cookie")).toMatch(/^pb_session=;/);
    expect((await fetch(`${t.url}/trpc/auth.me`, { headers: { cookie } })).status).toBe(401);
    // Bearer tokens need no Origin.
    const bearer = await post("/api/auth/logout", {}, { authorization: `Bearer ${account.token}` });
    expect(bearer.status).toBe(200);
  });

  it("CORS preflight gives credentials only to the allowed origins", async () => {
    const preflight = (origin: string) =>
      fetch(`${t.url}/trpc/auth.login`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
      });
    const allowed = await preflight(allowedOrigin);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(allowedOrigin);
    expect(allowed.headers.get("access-control-allow-credentials")).toBe("true");
    // Other origins may send bearer requests (test/cors.e2e.test.ts), never the cookie.
    expect((await preflight("http://evil.test")).headers.get("access-control-allow-credentials")).toBeNull();
  });
});
