// Databases for tests: every test file gets its own, so files never share state and may run in parallel.
// With TEST_DATABASE_URL (a PostgreSQL URL whose user may create databases) each gets a throw-away
// database on that server; otherwise an in-memory PGlite, loaded from a migrated copy made once per
// schema version (starting PGlite from scratch costs seconds; loading a copy is much faster).
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import pg from "pg";

import { createDb, createPglite, wrapPglite, type Database } from "./database.ts";
import { migrate } from "./migrator.ts";
import { migrationsDir, readMigrations } from "./schema-engine.ts";

export interface TestDb {
  db: Database;
  /** The PostgreSQL URL of this test's own database (undefined on PGlite). */
  url: string | undefined;
  dispose(): Promise<void>;
}

export const testDatabaseUrl = (): string | undefined => process.env.TEST_DATABASE_URL || undefined;

export async function createTestDb(): Promise<TestDb> {
  const adminUrl = testDatabaseUrl();
  return adminUrl ? createPostgresTestDb(adminUrl) : createPgliteTestDb();
}

async function createPostgresTestDb(adminUrl: string): Promise<TestDb> {
  const empty = await createEmptyPostgresDb(adminUrl);
  const db = await createDb({ databaseUrl: empty.url, dataDir: "", pool: { max: 20 } });
  await migrate(db);
  return {
    db,
    url: empty.url,
    async dispose() {
      await db.close();
      await empty.drop();
    },
  };
}

/** Creates an empty, uniquely named database on the test server; `drop` removes it. */
export async function createEmptyPostgresDb(adminUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `pbt_${process.pid}_${randomBytes(4).toString("hex")}`;
  await adminQuery(adminUrl, `CREATE DATABASE "${name}"`);
  return {
    url: withDatabase(adminUrl, name),
    drop: () => adminQuery(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

/**
 * Makes a test's PostgreSQL database refuse (and drop) every connection, or accept them again: a
 * database outage without stopping the shared server.
 */
export async function setDatabaseReachable(url: string, reachable: boolean): Promise<void> {
  const adminUrl = testDatabaseUrl();
  if (!adminUrl) throw new Error("setDatabaseReachable needs TEST_DATABASE_URL");
  const name = new URL(url).pathname.slice(1);
  await adminQuery(adminUrl, `ALTER DATABASE "${name}" ALLOW_CONNECTIONS ${reachable}`);
  if (!reachable) {
    await adminQuery(adminUrl, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`);
  }
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function createPgliteTestDb(): Promise<TestDb> {
  const template = await pgliteTemplate();
  const pglite = await createPglite(undefined, { loadDataDir: new Blob([fs.readFileSync(template)]) });
  const db = wrapPglite(pglite);
  return { db, url: undefined, dispose: () => db.close() };
}

/** The path of a migrated PGlite data folder dump for the current migrations, made on first use. */
async function pgliteTemplate(): Promise<string> {
  const hash = createHash("sha256");
  for (const dir of readMigrations(migrationsDir).migrationDirectories) {
    hash.update(dir.path);
    hash.update(dir.migrationFile.content.value);
  }
  const file = path.join(os.tmpdir(), `prompt-booster-pglite-${hash.digest("hex").slice(0, 16)}.tar`);
  if (fs.existsSync(file)) return file;

  const pglite = await createPglite("memory://");
  const db = wrapPglite(pglite);
  await migrate(db);
  const dump = await pglite.dumpDataDir("none");
  await db.close();
  // Parallel test files may race to make it: write aside, then rename (atomic on one file system).
  const partial = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  fs.writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
  fs.renameSync(partial, file);
  return file;
}
