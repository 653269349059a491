import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { testDatabaseUrl } from "@prompt-booster/db/testing";

import { startTestServer, type TestServer } from "./support/server.ts";

const adminUrl = testDatabaseUrl();

// PGlite lives inside the server process: it cannot go away while the server runs.
describe.skipIf(!adminUrl)("/ready follows the database (PostgreSQL)", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: { DB_CONNECT_TIMEOUT_MS: "1000" } });
  });
  afterAll(() => t.close());

  async function admin(sql: string) {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }

  it("turns 503 while the database refuses connections and 200 when it is back, without a restart", async () => {
    const name = new URL(t.testDb.url!).pathname.slice(1);
    expect((await fetch(`${t.url}/ready`)).status).toBe(200);

    await admin(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
    await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`);
    const down = await fetch(`${t.url}/ready`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: "unavailable", database: "postgresql" });
    expect((await fetch(`${t.url}/health`)).status).toBe(200);

    await admin(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
    expect((await fetch(`${t.url}/ready`)).status).toBe(200);
  });
});
