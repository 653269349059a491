import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { setDatabaseReachable, testDatabaseUrl } from "@prompt-booster/db/testing";

import { startTestServer, type TestServer } from "./support/server.ts";

const onPostgres = Boolean(testDatabaseUrl());

// PGlite lives inside the server process: it cannot go away while the server runs.
describe.skipIf(!onPostgres)("/ready follows the database (PostgreSQL)", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ env: { DB_CONNECT_TIMEOUT_MS: "1000" } });
  });
  afterAll(() => t.close());

  it("turns 503 while the database refuses connections and 200 when it is back, without a restart", async () => {
    expect((await fetch(`${t.url}/ready`)).status).toBe(200);

    await setDatabaseReachable(t.testDb.url!, false);
    const down = await fetch(`${t.url}/ready`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: "unavailable", database: "postgresql" });
    expect((await fetch(`${t.url}/health`)).status).toBe(200);

    await setDatabaseReachable(t.testDb.url!, true);
    expect((await fetch(`${t.url}/ready`)).status).toBe(200);
  });
});
