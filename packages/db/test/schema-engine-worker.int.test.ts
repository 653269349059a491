// The schema engine runs in a worker thread while the SQL runs here: errors must cross as the driver
// reported them, a dying worker must fail what waits for it, and nothing (thread, transaction) may stay.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { PrismaPg } from "@prisma/adapter-pg";
import { isDriverAdapterError, type SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { afterEach, describe, expect, it } from "vitest";

import { AdapterHost } from "../src/adapter-host.ts";
import { createDb, createPglite, migrate, wrapPglite, type Database } from "../src/index.ts";
import { engineThreadsRunning, noFilters, openSchemaEngine, readMigrations } from "../src/schema-engine.ts";
import { fromWire, type AdapterOpened, type TransactionOpened, type WireOutcome } from "../src/schema-engine-wire.ts";
import { createEmptyPostgresDb, testDatabaseUrl } from "../src/testing.ts";

const adminUrl = testDatabaseUrl();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An empty database of this run's kind, with a driver adapter factory on it like the migrator's. */
async function emptyDatabase(): Promise<{ db: Database; adapter: () => SqlMigrationAwareDriverAdapterFactory }> {
  if (adminUrl) {
    const empty = await createEmptyPostgresDb(adminUrl);
    cleanups.push(empty.drop);
    const db = await createDb({ databaseUrl: empty.url, dataDir: "" });
    cleanups.push(() => db.close());
    return {
      db,
      adapter: () => {
        // One connection: a transaction left holding it would make every later query wait.
        const pool = new pg.Pool({ connectionString: empty.url, max: 1 });
        cleanups.push(() => pool.end());
        return new PrismaPg(pool);
      },
    };
  }
  const db = wrapPglite(await createPglite("memory://"));
  cleanups.push(() => db.close());
  return { db, adapter: () => new PrismaPGlite(db.pglite!) };
}

/** The value of a forwarded call that must have succeeded. */
function valueOf<T>(outcome: WireOutcome): T {
  if (!outcome.ok) throw fromWire(outcome.error);
  return outcome.value as T;
}

/** A migrations folder holding one migration with `sql`. */
function migrationsWith(sql: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "schema-engine-worker-"));
  cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, "20990101000000_test"));
  fs.writeFileSync(path.join(dir, "20990101000000_test", "migration.sql"), sql);
  fs.writeFileSync(path.join(dir, "migration_lock.toml"), 'provider = "postgresql"\n');
  return dir;
}

describe(`the schema engine's worker (${adminUrl ? "PostgreSQL" : "PGlite"})`, () => {
  it("is gone once a migration is over, and two at once each get their own", async () => {
    const first = await emptyDatabase();
    const second = await emptyDatabase();
    const results = await Promise.all([migrate(first.db), migrate(second.db)]);
    expect(results.every((result) => result.applied.length > 0)).toBe(true);
    expect(engineThreadsRunning()).toBe(0);
  });

  it("hands a driver error to the engine with its kind, as the engine reports it without a worker", async () => {
    const { adapter } = await emptyDatabase();
    const host = new AdapterHost(adapter());
    const { handle } = valueOf<AdapterOpened>(await host.serve(0, "connect", []));
    const outcome = await host.serve(handle, "queryRaw", [{ sql: "SELECT * FROM nowhere", args: [], argTypes: [] }]);
    await host.close();

    expect(outcome.ok).toBe(false);
    const error = fromWire((outcome as { error: Parameters<typeof fromWire>[0] }).error);
    expect(isDriverAdapterError(error)).toBe(true);
    expect(error).toMatchObject({ cause: { kind: "TableDoesNotExist", table: "nowhere" } });
  });

  // PGlite's adapter does not wait for a script's result, so only PostgreSQL reports a failing migration.
  it.skipIf(!adminUrl)("reports a failing migration's database error as the engine words it", async () => {
    const { adapter } = await emptyDatabase();
    const engine = await openSchemaEngine(adapter());
    const migrationsList = readMigrations(migrationsWith(`CREATE TABLE "T" (id int);\nSELECT * FROM nowhere;\n`));
    const error = await engine
      .applyMigrations({ migrationsList, filters: noFilters })
      .catch((caught: unknown) => caught);
    await engine.free();
    expect(error).toMatchObject({ name: "SchemaConnectorError" });
    expect((error as Error).message).toMatch(/^external connector error\nNo such table: nowhere\n/);
  });

  it("fails the waiting call when the worker dies, then still frees, and the database migrates after", async () => {
    const { db, adapter } = await emptyDatabase();
    const engine = await openSchemaEngine(adapter());
    // Parameters the engine cannot decode make it throw outside any promise: its thread dies of it.
    await expect(engine.version({} as never)).rejects.toThrow(/the schema engine's worker failed: .*datasource/);
    await expect(engine.diagnoseMigrationHistory({} as never)).rejects.toThrow(/schema engine's worker/);
    await engine.free();
    expect(engineThreadsRunning()).toBe(0);
    expect((await migrate(db)).applied.length).toBeGreaterThan(0);
  });

  it("rolls back a transaction the engine left open when its worker goes", async () => {
    const { db, adapter } = await emptyDatabase();
    await db.prisma.$executeRawUnsafe(`CREATE TABLE "Left" (id int)`);
    const factory = adapter();
    const host = new AdapterHost(factory);
    const { handle } = valueOf<AdapterOpened>(await host.serve(0, "connect", []));
    const transaction = valueOf<TransactionOpened>(await host.serve(handle, "startTransaction", []));
    // Without the phantom-query option the engine itself begins the transaction on its connection.
    if (!transaction.options.usePhantomQuery) {
      await host.serve(transaction.handle, "executeRaw", [{ sql: "BEGIN", args: [], argTypes: [] }]);
    }
    const insert = { sql: `INSERT INTO "Left" (id) VALUES (1)`, args: [], argTypes: [] };
    expect(await host.serve(transaction.handle, "executeRaw", [insert])).toEqual({ ok: true, value: 1 });

    await host.close();
    expect(await db.prisma.$queryRawUnsafe(`SELECT count(*)::int AS n FROM "Left"`)).toEqual([{ n: 0 }]);
    // The adapter's own connection (PostgreSQL: its pool's only one) is back outside the transaction: a read
    // there neither sees the row nor, on PGlite, waits for the transaction to end.
    const after = await factory.connect();
    const count = await after.queryRaw({ sql: `SELECT count(*)::int AS n FROM "Left"`, args: [], argTypes: [] });
    expect(count.rows).toEqual([[0]]);
    // A closed host refuses further calls rather than reopening anything.
    expect(await host.serve(transaction.handle, "commit", [])).toMatchObject({ ok: false });
  });
});
