// Pool exhaustion: far more slow database requests than connections. The server neither crashes nor
// starves /health; requests that cannot get a connection in time fail with 503 rather than wait forever.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { isDatabaseUnavailable } from "@prompt-booster/api";
import { testDatabaseUrl } from "@prompt-booster/db/testing";

import { startTestServer, type TestServer } from "../support/server.ts";

// A pool is a PostgreSQL matter: PGlite is one in-process engine with no connections to exhaust.
describe.skipIf(!testDatabaseUrl())("500 concurrent slow requests on a pool of 5", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      env: { DB_POOL_MAX: "5", DB_CONNECT_TIMEOUT_MS: "2000" },
      // A request that holds a connection for 300 ms, like a heavy query would.
      beforeStart: (server) =>
        server.app.get("/test/slow", async (_request, reply) => {
          try {
            await server.db.prisma.$queryRaw`SELECT 1 AS slept FROM pg_sleep(0.3)`;
            return { ok: true };
          } catch (error) {
            // The same judgement the procedures make: only "no connection in time" is a 503.
            if (!isDatabaseUnavailable(error)) throw error;
            return reply.code(503).send({ code: "SERVICE_UNAVAILABLE" });
          }
        }),
    });
  });
  afterAll(() => t.close());

  it("keeps /health answering and every slow request ends in 200 or 503", async () => {
    let finished = 0;
    const slow = Array.from({ length: 500 }, () =>
      fetch(`${t.url}/test/slow`).then(async (response) => {
        await response.arrayBuffer();
        finished++;
        return response.status;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const health = await fetch(`${t.url}/health`);
    expect(health.status).toBe(200);
    // /health answered while most slow requests were still queued for a connection.
    expect(finished).toBeLessThan(250);

    const statuses = await Promise.all(slow);
    expect(statuses.filter((status) => status !== 200 && status !== 503)).toEqual([]);
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThan(0);
    expect((await fetch(`${t.url}/ready`)).status).toBe(200);
  });
});
