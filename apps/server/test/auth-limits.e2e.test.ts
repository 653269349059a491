// Rate limits (memory store, and Redis when TEST_REDIS_URL is set), login timing, production cookies.
import { randomUUID } from "node:crypto";
import { TRPCClientError, createTRPCClient, httpBatchLink, httpLink } from "@trpc/client";
import { Redis } from "ioredis";
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

/** How many answers had each status. */
async function statusCounts(responses: Promise<Response>[]): Promise<Record<number, number>> {
  const counts: Record<number, number> = {};
  for (const response of await Promise.all(responses)) counts[response.status] = (counts[response.status] ?? 0) + 1;
  return counts;
}

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

  it("checks exactly as many passwords as the account limit allows when 80 wrong logins race", async () => {
    const t = await server({ ...storeEnv, AUTH_RATE_LIMIT_PER_IP: "1000" });
    const account = await signUp(t.url);
    // A 401 is an answer whose password was checked; a 429 was refused before the check.
    const counts = await statusCounts(
      Array.from({ length: 80 }, (_, i) => login(t.url, { email: account.email, password: `wrong password ${i}` })),
    );
    expect(counts).toEqual({ 401: 10, 429: 70 });
  });

  it("counts only failed logins against the account: a right password gives its attempt back", async () => {
    const t = await server({ ...storeEnv, AUTH_RATE_LIMIT_PER_IP: "1000" });
    const account = await signUp(t.url);
    for (let i = 0; i < 9; i++) {
      expect((await login(t.url, { email: account.email, password: `wrong password ${i}` })).status).toBe(401);
    }
    expect((await login(t.url, { email: account.email, password: account.password })).status).toBe(200);
    expect((await login(t.url, { email: account.email, password: "wrong password 10" })).status).toBe(401);
    expect((await login(t.url, { email: account.email, password: "wrong password 11" })).status).toBe(429);
  });

  it("counts wrong current passwords of changePassword against the same budget, race or not", async () => {
    const t = await server({ ...storeEnv, AUTH_RATE_LIMIT_PER_IP: "1000" });
    const account = await signUp(t.url);
    // Unbatched, so each call is its own request, all in flight at once.
    const client = createTRPCClient<AppRouter>({
      links: [
        httpLink({
          url: `${t.url}/trpc`,
          transformer: superjson,
          headers: () => ({ authorization: `Bearer ${account.token}` }),
        }),
      ],
    });
    const changeWith = (currentPassword: string) =>
      client.auth.changePassword.mutate({ currentPassword, newPassword: "a new passphrase" }).then(
        () => "OK",
        (error: unknown) => (error as TRPCClientError<AppRouter>).data?.code,
      );
    const codes = await Promise.all(Array.from({ length: 30 }, (_, i) => changeWith(`wrong password ${i}`)));
    const counts: Record<string, number> = {};
    for (const code of codes) counts[String(code)] = (counts[String(code)] ?? 0) + 1;
    expect(counts).toEqual({ FORBIDDEN: 10, TOO_MANY_REQUESTS: 20 });
    expect(await changeWith(account.password)).toBe("TOO_MANY_REQUESTS");
    expect((await login(t.url, { email: account.email, password: account.password })).status).toBe(429);
  });

  it("counts the per-IP limit atomically when logins race", async () => {
    const t = await server({ ...storeEnv, AUTH_RATE_LIMIT_PER_IP: "5" });
    const counts = await statusCounts(
      Array.from({ length: 40 }, (_, i) =>
        login(t.url, { email: `nobody-${i}-${randomUUID()}@example.com`, password: "not the password" }),
      ),
    );
    expect(counts).toEqual({ 401: 5, 429: 35 });
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

describe.runIf(redisUrl)("rate-limit keys in Redis", () => {
  it("are named <prefix>ip:<action>:<ip> and <prefix>account:<hash>, each with an expiry", async () => {
    const t = await server({ REDIS_URL: redisUrl!, AUTH_RATE_LIMIT_PER_IP: "1000" });
    const prefix = t.config.rateLimit.keyPrefix;
    const account = await signUp(t.url);
    expect((await login(t.url, { email: account.email, password: "wrong password" })).status).toBe(401);
    expect((await login(t.url, { email: `nobody-${randomUUID()}@example.com`, password: "x" })).status).toBe(401);

    const redis = new Redis(redisUrl!);
    try {
      const keys: string[] = [];
      let cursor = "0";
      do {
        const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
        keys.push(...batch);
        cursor = next;
      } while (cursor !== "0");
      keys.sort();
      expect(keys.map((key) => key.slice(prefix.length).replace(/[A-Za-z0-9_-]{43}$/, "<hash>"))).toEqual([
        "account:<hash>",
        "account:<hash>",
        "ip:login:127.0.0.1",
        "ip:register:127.0.0.1",
      ]);
      for (const key of keys) {
        const ttl = await redis.pttl(key);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(t.config.rateLimit.windowMs);
      }
    } finally {
      await redis.quit();
    }
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
