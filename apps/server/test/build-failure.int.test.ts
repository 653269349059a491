// A server whose build fails after its database is open and migrated (here: the OpenAPI document cannot
// be made) leaves nothing behind: the PGlite data folder is unlocked, PostgreSQL has no connection of it left.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it, vi } from "vitest";

import { createDb } from "@prompt-booster/db";
import { createEmptyPostgresDb, testDatabaseUrl } from "@prompt-booster/db/testing";

import { loadConfig } from "../src/config.ts";
import { buildServer } from "../src/server.ts";

vi.mock("../src/http/openapi.ts", () => ({
  openApiDocument: () => {
    throw new Error("the document could not be built");
  },
}));

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const config = (env: Record<string, string>) =>
  loadConfig({ NODE_ENV: "test", PORT: "0", LOG_LEVEL: "silent", ...env });

describe("a build that fails after migrating", () => {
  it.skipIf(Boolean(testDatabaseUrl()))("unlocks the PGlite data folder", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pb-build-failure-"));
    cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    await expect(buildServer(config({ PGLITE_DATA_DIR: dataDir }))).rejects.toThrow(/could not be built/);
    // Locked against a second process while open: opening it again proves the first was closed.
    const again = await createDb({ dataDir });
    await again.close();
  });

  it.runIf(Boolean(testDatabaseUrl()))("closes every PostgreSQL connection it opened (pool and LISTEN)", async () => {
    const database = await createEmptyPostgresDb(testDatabaseUrl()!);
    cleanups.push(database.drop);
    await expect(buildServer(config({ DATABASE_URL: database.url }))).rejects.toThrow(/could not be built/);
    const name = new URL(database.url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: testDatabaseUrl() });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ count: string }>(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        [name],
      );
      expect(Number(rows[0]!.count)).toBe(0);
    } finally {
      await admin.end();
    }
  });
});
