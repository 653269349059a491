// A connection lost in the middle of a transaction (what a PostgreSQL restart does to requests in flight)
// must read as an outage (503), whichever step of the transaction notices it. PostgreSQL only: PGlite has
// no connection to lose.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestDb, setDatabaseReachable, testDatabaseUrl, type TestDb } from "@prompt-booster/db/testing";

import { isDatabaseUnavailable } from "../src/lib/db-errors.ts";

const describeOnPostgres = describe.skipIf(!testDatabaseUrl());

describeOnPostgres("a connection lost inside a transaction", () => {
  let testDb: TestDb;
  beforeAll(async () => {
    testDb = await createTestDb();
  });
  afterAll(async () => {
    await testDb.dispose();
  });

  /** Ends every connection to this test's database (as a shutdown does), then lets new ones in again. */
  async function dropConnections() {
    await setDatabaseReachable(testDb.url!, false);
    await setDatabaseReachable(testDb.url!, true);
  }

  const describeError = (error: unknown) =>
    error instanceof Error ? `${error.name}: ${error.message} ${JSON.stringify(error.cause ?? null)}` : String(error);

  it("is an outage when the next query finds the connection gone", async () => {
    const error: unknown = await testDb.db.prisma
      .$transaction(async (tx) => {
        await tx.$queryRaw`SELECT 1`;
        await dropConnections();
        await tx.$queryRaw`SELECT 1`;
      })
      .catch((caught: unknown) => caught);
    expect(isDatabaseUnavailable(error), describeError(error)).toBe(true);
  });

  it("is an outage when the server shuts the connection during COMMIT", async () => {
    // A deferred trigger runs inside COMMIT: it ends its own backend there, as a fast shutdown would.
    const error: unknown = await testDb.db.prisma
      .$transaction(async (tx) => {
        await tx.$executeRawUnsafe("CREATE TEMP TABLE doomed (x int) ON COMMIT DROP");
        await tx.$executeRawUnsafe(
          "CREATE FUNCTION pg_temp.end_backend() RETURNS trigger LANGUAGE plpgsql AS " +
            "$$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5); RETURN NULL; END $$",
        );
        await tx.$executeRawUnsafe(
          "CREATE CONSTRAINT TRIGGER end_backend AFTER INSERT ON doomed DEFERRABLE INITIALLY DEFERRED " +
            "FOR EACH ROW EXECUTE FUNCTION pg_temp.end_backend()",
        );
        await tx.$executeRawUnsafe("INSERT INTO doomed VALUES (1)");
      })
      .catch((caught: unknown) => caught);
    expect(isDatabaseUnavailable(error), describeError(error)).toBe(true);
  });
});
