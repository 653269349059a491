// CORS as browsers meet it: a page of any origin (another site, Electron's file:// renderer, a custom scheme)
// may call the API with a bearer token, preflight included; only the listed origins get the session cookie,
// and a cookie mutation from any other origin is still refused. Error answers carry the same headers, so
// the page can read why it was refused.
import { randomUUID } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { signUp } from "./support/auth.ts";
import { allowedOrigin, startTestServer, type TestServer } from "./support/server.ts";

const listedApp = "app://listed";
/** Origins no one listed: Chromium's file:// page, older Electron's file:// page, a custom scheme, another site. */
const unlisted = ["null", "file://", "app://x", `https://${randomUUID().slice(0, 8)}.example`];

function preflight(url: string, origin: string, method: string, headers: string) {
  return fetch(url, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": method, "access-control-request-headers": headers },
  });
}

/** The CORS headers of an answer, lower-cased lists split for comparison. */
function corsOf(response: Response) {
  const list = (name: string) =>
    (response.headers.get(name) ?? "")
      .split(",")
      .map((item) => item.trim().toLowerCase())
      .filter(Boolean);
  return {
    allowOrigin: response.headers.get("access-control-allow-origin"),
    allowCredentials: response.headers.get("access-control-allow-credentials"),
    allowMethods: list("access-control-allow-methods"),
    allowHeaders: list("access-control-allow-headers"),
    exposeHeaders: list("access-control-expose-headers"),
  };
}

const createTemplate = (name: string) => JSON.stringify({ json: { name, content: "You are a careful editor." } });

describe("CORS", () => {
  let t: TestServer;
  let token: string;
  let cookie: string;
  let setCookie: string;

  beforeAll(async () => {
    t = await startTestServer({ env: { CORS_ORIGINS: `${allowedOrigin},${listedApp}` } });
    const account = await signUp(t.url);
    token = account.token;
    const answer = await fetch(`${t.url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: allowedOrigin },
      body: JSON.stringify({ email: account.email, password: account.password }),
    });
    setCookie = answer.headers.get("set-cookie") ?? "";
    cookie = setCookie.split(";")[0]!;
  });
  afterAll(() => t.close());

  it("sets the session cookie SameSite=Lax by default (and, outside production, not Secure)", () => {
    expect(setCookie).toMatch(/;\s*SameSite=Lax/i);
    expect(setCookie).not.toMatch(/;\s*Secure/i);
  });

  // Every kind of path a page calls: a tRPC query, a batch of mutations, the SSE stream, the REST paths.
  const calls = [
    { path: "/trpc/auth.me", method: "GET", headers: "authorization" },
    { path: "/trpc/templates.create,prompts.create?batch=1", method: "POST", headers: "authorization,content-type" },
    { path: "/trpc/sync.subscribe?input=%7B%7D", method: "GET", headers: "authorization,last-event-id" },
    { path: "/api/templates", method: "POST", headers: "authorization,content-type" },
    { path: `/api/templates/${randomUUID()}`, method: "PUT", headers: "authorization,content-type" },
    { path: `/api/templates/${randomUUID()}`, method: "DELETE", headers: "authorization" },
    { path: "/api/settings", method: "PUT", headers: "authorization,content-type" },
  ];

  it.each(unlisted)("answers a preflight from %s on every path: 204, any origin, no credentials", async (origin) => {
    for (const call of calls) {
      const answer = await preflight(`${t.url}${call.path}`, origin, call.method, call.headers);
      expect({ path: call.path, status: answer.status }).toEqual({ path: call.path, status: 204 });
      const cors = corsOf(answer);
      expect(cors.allowOrigin).toBe("*");
      expect(cors.allowCredentials).toBeNull();
      expect(cors.allowMethods.map((m) => m.toUpperCase())).toContain(call.method);
      for (const header of call.headers.split(",")) expect(cors.allowHeaders).toContain(header);
    }
  });

  it.each([allowedOrigin, listedApp])(
    "gives the listed origin %s credentials, on its preflights and answers",
    async (origin) => {
      const answer = await preflight(`${t.url}/trpc/templates.create`, origin, "POST", "content-type");
      expect(answer.status).toBe(204);
      expect(corsOf(answer)).toMatchObject({ allowOrigin: origin, allowCredentials: "true" });
      const me = await fetch(`${t.url}/trpc/auth.me`, { headers: { origin, cookie } });
      expect(me.status).toBe(200);
      expect(corsOf(me)).toMatchObject({ allowOrigin: origin, allowCredentials: "true" });
    },
  );

  it.each(unlisted)("serves bearer queries and mutations from %s", async (origin) => {
    const headers = { origin, authorization: `Bearer ${token}` };
    const me = await fetch(`${t.url}/trpc/auth.me`, { headers });
    expect(me.status).toBe(200);
    expect(corsOf(me)).toMatchObject({ allowOrigin: "*", allowCredentials: null });
    const created = await fetch(`${t.url}/trpc/templates.create`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body: createTemplate(`From ${origin}`),
    });
    expect(created.status).toBe(200);
    expect(corsOf(created).allowOrigin).toBe("*");
  });

  it.each(unlisted)("still refuses a cookie mutation from %s (403), and a listed origin's passes", async (origin) => {
    const refused = await fetch(`${t.url}/trpc/templates.create`, {
      method: "POST",
      headers: { origin, cookie, "content-type": "application/json" },
      body: createTemplate("Forged"),
    });
    expect(refused.status).toBe(403);
    const restRefused = await fetch(`${t.url}/api/templates`, {
      method: "POST",
      headers: { origin, cookie, "content-type": "application/json" },
      body: JSON.stringify({ name: "Forged", content: "x" }),
    });
    expect(restRefused.status).toBe(403);
    const allowed = await fetch(`${t.url}/trpc/templates.create`, {
      method: "POST",
      headers: { origin: allowedOrigin, cookie, "content-type": "application/json" },
      body: createTemplate(`Allowed after ${origin}`),
    });
    expect(allowed.status).toBe(200);
  });

  it("puts CORS headers on error answers, so the page can read a 401, a 404 or a 413", async () => {
    const headers = { origin: "null", authorization: `Bearer ${"x".repeat(40)}` };
    const unauthorized = await fetch(`${t.url}/trpc/auth.me`, { headers });
    expect(unauthorized.status).toBe(401);
    expect(corsOf(unauthorized)).toMatchObject({ allowOrigin: "*", allowCredentials: null });
    const restUnauthorized = await fetch(`${t.url}/api/settings`, { headers });
    expect(restUnauthorized.status).toBe(401);
    expect(corsOf(restUnauthorized).allowOrigin).toBe("*");
    const missing = await fetch(`${t.url}/api/nothing-here`, { headers });
    expect(missing.status).toBe(404);
    expect(corsOf(missing).allowOrigin).toBe("*");
    const tooLarge = await fetch(`${t.url}/trpc/templates.create`, {
      method: "POST",
      headers: { origin: "null", authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: createTemplate("x".repeat(t.config.bodyLimitBytes)),
    });
    expect(tooLarge.status).toBe(413);
    expect(corsOf(tooLarge).allowOrigin).toBe("*");
  });

  it("sends no CORS headers to a request without Origin (not a cross-origin browser call)", async () => {
    const me = await fetch(`${t.url}/trpc/auth.me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(corsOf(me).allowOrigin).toBeNull();
  });

  it("tells caches that every answer depends on the Origin, tRPC's (which vary on its own headers too) included", async () => {
    const bearer = { authorization: `Bearer ${token}` };
    for (const origin of [allowedOrigin, unlisted[3]!]) {
      const viaTrpc = await fetch(`${t.url}/trpc/auth.me`, { headers: { ...bearer, origin } });
      const viaRest = await fetch(`${t.url}/api/settings`, { headers: { ...bearer, origin } });
      const stream = await fetch(`${t.url}/trpc/sync.subscribe`, { headers: { ...bearer, origin } });
      await Promise.all([viaTrpc.arrayBuffer(), viaRest.arrayBuffer(), stream.body?.cancel()]);
      const vary = (response: Response) => (response.headers.get("vary") ?? "").toLowerCase().split(/\s*,\s*/);
      expect(vary(viaTrpc)).toEqual(expect.arrayContaining(["origin", "trpc-accept", "accept"]));
      expect(vary(stream)).toEqual(expect.arrayContaining(["origin", "trpc-accept", "accept"]));
      expect(vary(viaRest)).toContain("origin");
    }
  });

  it("lets a page of another origin read the file name an export suggests", async () => {
    const exported = await fetch(`${t.url}/api/export`, {
      headers: { authorization: `Bearer ${token}`, origin: unlisted[3]! },
    });
    expect(exported.status).toBe(200);
    expect(corsOf(exported).exposeHeaders).toContain("content-disposition");
    expect(exported.headers.get("content-disposition")).toMatch(/filename="prompt-booster-export-/);
    await exported.body?.cancel();
  });
});

describe("CORS with a SameSite=None session cookie and tight rate limits", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: { SESSION_COOKIE_SAMESITE: "none", AUTH_RATE_LIMIT_PER_IP: "1" } });
  });
  afterAll(() => t.close());

  it("sets the cookie SameSite=None and Secure, even outside production", async () => {
    const answer = await fetch(`${t.url}/api/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: allowedOrigin },
      body: JSON.stringify({
        email: `none-${randomUUID()}@example.com`,
        username: `none_${randomUUID().slice(0, 8)}`,
        password: "correct horse battery",
      }),
    });
    expect(answer.status).toBe(200);
    const setCookie = answer.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(/^pb_session=/);
    expect(setCookie).toMatch(/;\s*SameSite=None/i);
    expect(setCookie).toMatch(/;\s*Secure/i);
  });

  it("lets a page read a 429 and its Retry-After", async () => {
    const login = () =>
      fetch(`${t.url}/api/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: "null" },
        body: JSON.stringify({ email: `nobody-${randomUUID()}@example.com`, password: "wrong password" }),
      });
    expect((await login()).status).toBe(401);
    const limited = await login();
    expect(limited.status).toBe(429);
    expect(corsOf(limited)).toMatchObject({ allowOrigin: "*", allowCredentials: null });
    expect(corsOf(limited).exposeHeaders).toContain("retry-after");
    expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
  });
});

describe("CORS on answers written outside the handlers: a slow body's 408, the drain's 503", () => {
  let t: TestServer;
  let release: () => void = () => {};
  let started: Promise<void>;

  beforeAll(async () => {
    let markStarted: () => void = () => {};
    started = new Promise((resolve) => (markStarted = resolve));
    t = await startTestServer({
      env: { REQUEST_TIMEOUT_MS: "1000" },
      beforeStart: (server) =>
        server.app.get("/test/slow", async () => {
          markStarted();
          await new Promise<void>((resolve) => (release = resolve));
          return { finished: true };
        }),
    });
  });
  afterAll(() => t.close());

  it("puts CORS headers on the 408 Node writes for a body that never finishes arriving", async () => {
    const { hostname, port } = new URL(t.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), hostname);
      let received = "";
      socket.on("data", (chunk) => (received += chunk.toString()));
      socket.on("close", () => resolve(received));
      socket.on("error", reject);
      socket.write(
        "POST /trpc/templates.create HTTP/1.1\r\nHost: x\r\nOrigin: null\r\nContent-Type: application/json\r\n" +
          "Content-Length: 100\r\n\r\n{",
      );
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(answer).toMatch(/\r\naccess-control-allow-origin: \*\r\n/i);
    expect(answer).not.toMatch(/access-control-allow-credentials/i);
  });

  it("puts CORS headers on the drain's 503, so the page can read it and its Retry-After", async () => {
    const slow = fetch(`${t.url}/test/slow`);
    await started;
    const stopping = t.server.stop();
    // A new connection: fetch would reuse the pooled keep-alive one.
    const refused = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http
        .get(`${t.url}/trpc/auth.me`, { agent: false, headers: { origin: "null" } }, (response) => {
          response.resume();
          resolve(response);
        })
        .on("error", reject);
    });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers["access-control-allow-origin"]).toBe("*");
    expect(refused.headers["access-control-expose-headers"]).toMatch(/retry-after/i);
    release();
    expect((await slow).status).toBe(200);
    await stopping;
  });
});
