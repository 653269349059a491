import { afterEach, describe, expect, it } from "vitest";

import { createDb, createPglite, migrate, MigrationError, wrapPglite, type Database } from "../src/index.ts";
import { createEmptyPostgresDb, testDatabaseUrl } from "../src/testing.ts";
import { readMigrations } from "../src/schema-engine.ts";

const adminUrl = testDatabaseUrl();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An empty database of the kind this run tests, plus a second handle on it (a second "process"). */
async function emptyDatabase(): Promise<{ db: Database; other: () => Promise<Database> }> {
  if (adminUrl) {
    const empty = await createEmptyPostgresDb(adminUrl);
    cleanups.push(empty.drop);
    const open = async () => {
      const db = await createDb({ databaseUrl: empty.url, dataDir: "" });
      cleanups.push(() => db.close());
      return db;
    };
    return { db: await open(), other: open };
  }
  const db = wrapPglite(await createPglite("memory://"));
  cleanups.push(() => db.close());
  // One process owns an embedded database; a second migrator in it shares the instance.
  return { db, other: async () => db };
}

const migrationNames = readMigrations().migrationDirectories.map((dir) => dir.path);

async function appliedRows(db: Database) {
  return db.prisma.$queryRawUnsafe<{ migration_name: string; finished_at: Date | null }[]>(
    `SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY migration_name`,
  );
}

describe(`migrator (${adminUrl ? "PostgreSQL" : "PGlite"})`, () => {
  it("applies every migration to an empty database, and a second run is a no-op", async () => {
    const { db } = await emptyDatabase();
    expect(await migrate(db)).toEqual({ applied: migrationNames });
    expect(await migrate(db)).toEqual({ applied: [] });

    const rows = await appliedRows(db);
    expect(rows.map((row) => row.migration_name)).toEqual(migrationNames);
    expect(rows.every((row) => row.finished_at instanceof Date)).toBe(true);
    // The schema is really there: the generated client can use it.
    const user = await db.prisma.user.create({
      data: { email: "a@example.com", username: "a", usernameKey: "a", hashedPassword: "x" },
    });
    expect(user.revision).toBe(0);
  });

  it("lets two migrators start at once: both succeed and the schema is applied once", async () => {
    const { db, other } = await emptyDatabase();
    const second = await other();
    const results = await Promise.all([migrate(db), migrate(second)]);
    expect(results.map((result) => result.applied).sort((a, b) => b.length - a.length)).toEqual([migrationNames, []]);
    expect((await appliedRows(db)).length).toBe(migrationNames.length);
  });

  it("refuses, in one line, a database whose schema drifted from the migrations", async () => {
    const { db } = await emptyDatabase();
    await migrate(db);
    await db.prisma.$executeRawUnsafe(`ALTER TABLE "Template" DROP COLUMN "category"`);
    const error = await migrate(db).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toMatch(/drifted/);
    expect((error as Error).message).toMatch(/category/);
    expect((error as Error).message).not.toContain("\n");
  });

  it("refuses a database whose applied migration was edited afterwards", async () => {
    const { db } = await emptyDatabase();
    await migrate(db);
    await db.prisma.$executeRawUnsafe(`UPDATE _prisma_migrations SET checksum = 'not-the-checksum'`);
    await expect(migrate(db)).rejects.toThrow(/was changed after it was applied/);
  });

  it("refuses a database that has migrations this code does not know", async () => {
    const { db } = await emptyDatabase();
    await migrate(db);
    await db.prisma.$executeRawUnsafe(
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
       VALUES ('x', 'abc', '99990101000000_from_the_future', now(), now(), 1)`,
    );
    await expect(migrate(db)).rejects.toThrow(/99990101000000_from_the_future/);
  });

  it("refuses a database with a failed migration", async () => {
    const { db } = await emptyDatabase();
    await migrate(db);
    await db.prisma.$executeRawUnsafe(`UPDATE _prisma_migrations SET finished_at = NULL, rolled_back_at = NULL`);
    await expect(migrate(db)).rejects.toThrow(/failed earlier/);
  });
});
