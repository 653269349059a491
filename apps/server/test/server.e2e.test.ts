import http from "node:http";
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { AppRouter } from "@prompt-booster/api";

import { allowedOrigin, startTestServer, type TestServer } from "./support/server.ts";

let t: TestServer;
let releaseSlow: () => void = () => {};
let slowStarted: Promise<void>;

beforeAll(async () => {
  let markStarted: () => void = () => {};
  slowStarted = new Promise((resolve) => (markStarted = resolve));
  t = await startTestServer({
    env: { BODY_LIMIT_BYTES: "2048", TRPC_MAX_BATCH_SIZE: "5" },
    // A request that stays in flight until the test lets it go, to watch shutdown drain it.
    beforeStart: (server) =>
      server.app.get("/test/slow", async () => {
        markStarted();
        await new Promise<void>((resolve) => (releaseSlow = resolve));
        return { finished: true };
      }),
  });
});
afterAll(() => t.close());

describe("server", () => {
  it("answers /health and /ready", async () => {
    const health = await fetch(`${t.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const ready = await fetch(`${t.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready" });
  });

  it("serves the tRPC router to the typed client, with superjson and a request id", async () => {
    const client = createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url: `${t.url}/trpc`, transformer: superjson })],
    });
    const [a, b] = await Promise.all([client.system.ping.query(), client.system.ping.query()]);
    expect(a.ok).toBe(true);
    expect(b.time).toBeInstanceOf(Date);

    const response = await fetch(`${t.url}/health`, { headers: { "x-request-id": "abc-123" } });
    expect(response.headers.get("x-request-id")).toBe("abc-123");
  });

  it("refuses a body over the limit with 413", async () => {
    const response = await fetch(`${t.url}/trpc/system.ping`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ padding: "x".repeat(4096) }),
    });
    expect(response.status).toBe(413);
  });

  it("refuses a tRPC batch over the limit with 400, and accepts one at the limit", async () => {
    const paths = (n: number) => Array.from({ length: n }, () => "system.ping").join(",");
    expect((await fetch(`${t.url}/trpc/${paths(5)}?batch=1`)).status).toBe(200);
    const over = await fetch(`${t.url}/trpc/${paths(6)}?batch=1`);
    expect(over.status).toBe(400);
  });

  it("answers CORS preflights with credentials for allowed origins only", async () => {
    const preflight = (origin: string) =>
      fetch(`${t.url}/trpc/system.ping`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST" },
      });
    const allowed = await preflight(allowedOrigin);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(allowedOrigin);
    expect(allowed.headers.get("access-control-allow-credentials")).toBe("true");
    const foreign = await preflight("http://evil.test");
    expect(foreign.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it("shuts down gracefully: in-flight requests finish, new ones get 503, then the listener closes", async () => {
    const slow = fetch(`${t.url}/test/slow`);
    await slowStarted;
    const stopping = t.server.stop();
    // While the slow request is in flight, a new request is turned away with 503, not left waiting.
    expect((await freshConnectionGet(`${t.url}/health`)).status).toBe(503);
    // …in the shape of its path: tRPC's envelope for a tRPC client, the REST body for REST.
    const trpc = await freshConnectionGet(`${t.url}/trpc/system.ping`);
    expect(trpc.status).toBe(503);
    expect(JSON.parse(trpc.body).error.json.data).toMatchObject({ code: "SERVICE_UNAVAILABLE", httpStatus: 503 });
    const rest = await freshConnectionGet(`${t.url}/api/settings`);
    expect(JSON.parse(rest.body)).toEqual({
      code: "SERVICE_UNAVAILABLE",
      message: "The server is shutting down; retry in a moment",
    });
    releaseSlow();
    const response = await slow;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ finished: true });
    await stopping;
    await expect(freshConnectionGet(`${t.url}/health`)).rejects.toThrow(/ECONNREFUSED/);
  });
});

/** A GET on a new connection (fetch would reuse a pooled keep-alive one). */
function freshConnectionGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => (body += chunk.toString()));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}
