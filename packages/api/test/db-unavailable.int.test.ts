// A database outage answers SERVICE_UNAVAILABLE (503): the client should retry; it is not a server bug.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestDb, setDatabaseReachable, type TestDb } from "@prompt-booster/db/testing";

import { isDatabaseUnavailable } from "../src/lib/db-errors.ts";
import { userCaller } from "./support/context.ts";

let testDb: TestDb;
beforeAll(async () => {
  testDb = await createTestDb();
});
afterAll(async () => {
  if (testDb.url) await setDatabaseReachable(testDb.url, true);
  await testDb.dispose().catch(() => {});
});

async function takeDatabaseAway() {
  if (testDb.url) await setDatabaseReachable(testDb.url, false);
  else await testDb.db.pglite!.close();
}

describe("database outage", () => {
  it("turns into SERVICE_UNAVAILABLE with a message fit to show", async () => {
    const { caller } = await userCaller(testDb.db);
    await caller.settings.get();
    await takeDatabaseAway();
    const error = await caller.settings.get().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "SERVICE_UNAVAILABLE" });
    expect((error as Error).message).toMatch(/database is unavailable/);
  });

  it("is told apart from request errors", () => {
    expect(isDatabaseUnavailable({ code: "P2002", message: "Unique constraint failed" })).toBe(false);
    expect(isDatabaseUnavailable(new Error("boom"))).toBe(false);
    expect(isDatabaseUnavailable({ code: "P1001" })).toBe(true);
    expect(
      isDatabaseUnavailable({ meta: { driverAdapterError: { cause: { kind: "postgres", code: "57P01" } } } }),
    ).toBe(true);
    expect(isDatabaseUnavailable({ cause: new Error("timeout exceeded when trying to connect") })).toBe(true);
  });
});
