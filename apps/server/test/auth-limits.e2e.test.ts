// Rate limits (memory store, and Redis when TEST_REDIS_URL is set), login timing, production cookies.
import { randomUUID } from "node:crypto";
import { TRPCClientError, createTRPCClient, httpBatchLink } from "@trpc/client";
import superjson from "superjson";
import { afterAll, describe, expect, it } from "vitest";

import type { AppRouter } from "@prompt-booster/api";

import { signUp } from "./support/auth.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

const redisUrl = process.env.TEST_REDIS_URL || undefined;
const servers: TestServer[] = [];
afterAll(() => Promise.all(servers.map((s) => s.close())));

async function server(env: Record<string, string> = {}): Promise<TestServer> {
  const started = await startTestServer({ env: { RATE_LIMIT_KEY_PREFIX: `pb-test:${randomUUID()}:`, ...env } });
  servers.push(started);
  return started;
}

const login = (url: string, body: Record<string, string>) =>
  fetch(`${url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

const stores = [["memory", {}] as const, ...(redisUrl ? [["redis", { REDIS_URL: redisUrl }] as const] : [])];

describe.each(stores)("rate limits (%s store)", (_, storeEnv) => {
  it("refuses the 11th failed login of an account within the window with 429 and Retry-After", async () => {
    const t = await server({ ...storeEnv, AUTH_RATE_LIMIT_PER_IP: "1000" });
    const account = await signUp(t.url);
    const bystander = await signUp(t.url);
    for (let i = 0; i < 10; i++) {
      // Email and username of one account share one budget.
      const wrong: Record<string, string> = i % 2 === 0 ? { email: account.email } : { username: account.username };
      expect((await login(t.url, { ...wrong, password: `wrong password ${i}` })).status).toBe(401);
    }
    const eleventh = await login(t.url, { email: account.email, password: "wrong password 11" });
    expect(eleventh.status).toBe(429);
    const retryAfter = Number(eleventh.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    expect(((await eleventh.json()) as { code: string }).code).toBe("TOO_MANY_REQUESTS");

    // Over tRPC: TOO_MANY_REQUESTS, even with the right password, until the window ends.
    const client = createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url: `${t.url}/trpc`, transformer: superjson })],
    });
    const refused = await client.auth.login
      .mutate({ email: account.email, password: account.password })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TRPCClientError);
    expect((refused as TRPCClientError<AppRouter>).data?.code).toBe("TOO_MANY_REQUESTS");
    // Other accounts are unaffected.
    expect((await login(t.url, { email: bystander.email, password: bystander.password })).status).toBe(200);
  });

  it("limits registrations per IP", async () => {
    const t = await server({ ...storeEnv, AUTH_RATE_LIMIT_PER_IP: "3" });
    for (let i = 0; i < 3; i++) await signUp(t.url);
    const fourth = await fetch(`${t.url}/api/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        email: `late-${randomUUID()}@example.com`,
        username: "late_one",
        password: "late passphrase",
      }),
    });
    expect(fourth.status).toBe(429);
    expect(Number(fourth.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});

describe("login timing", () => {
  it("takes about as long for an unknown email as for a known one with a wrong password", async () => {
    const t = await server({ AUTH_RATE_LIMIT_PER_IP: "1000", AUTH_RATE_LIMIT_FAILED_LOGINS: "1000" });
    const account = await signUp(t.url);
    const time = async (email: string) => {
      const start = performance.now();
      expect((await login(t.url, { email, password: "not the password" })).status).toBe(401);
      return performance.now() - start;
    };
    await time("warm-up@example.com");
    await time(account.email);
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 8; i++) {
      known.push(await time(account.email));
      unknown.push(await time(`nobody-${i}@example.com`));
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
    const ratio = median(known) / median(unknown);
    // Both verify one argon2id hash (tens of ms); without the dummy hash the unknown case would be ~0 ms.
    expect(ratio).toBeGreaterThan(1 / 3);
    expect(ratio).toBeLessThan(3);
  });
});

describe("production cookies", () => {
  it("uses the __Host- name and the Secure flag", async () => {
    const t = await server({ NODE_ENV: "production" });
    const account = await signUp(t.url);
    const response = await login(t.url, { email: account.email, password: account.password });
    const setCookie = response.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(/^__Host-pb_session=[a-z2-7]{32};/);
    expect(setCookie).toMatch(/; Secure/i);
    expect(setCookie).toMatch(/; Path=\//i);
    expect(setCookie).toMatch(/; HttpOnly/i);
    expect(setCookie).not.toMatch(/Domain=/i);
  });
});
