// The migration that gives every user a settings row (settings.get no longer creates one): a user without a
// row, or with a deleted one, gets the defaults at a revision of their own; a user with a live row keeps it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, expect, it } from "vitest";

import { createDb, createPglite, migrate, wrapPglite, type Database } from "../src/index.ts";
import { migrationsDir } from "../src/schema-engine.ts";
import { createEmptyPostgresDb, testDatabaseUrl } from "../src/testing.ts";

const SETTINGS_MIGRATION = "20261127122428_settings_row_per_user";
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function emptyDatabase(): Promise<Database> {
  const adminUrl = testDatabaseUrl();
  if (adminUrl) {
    const empty = await createEmptyPostgresDb(adminUrl);
    cleanups.push(empty.drop);
    const db = await createDb({ databaseUrl: empty.url, dataDir: "" });
    cleanups.push(() => db.close());
    return db;
  }
  const db = wrapPglite(await createPglite("memory://"));
  cleanups.push(() => db.close());
  return db;
}

function migrationsBefore(name: string): { migrationsDir: string; schema: false } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pb-migrations-"));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const entry of fs.readdirSync(migrationsDir)) {
    if (entry >= name) continue;
    fs.cpSync(path.join(migrationsDir, entry), path.join(dir, entry), { recursive: true });
  }
  return { migrationsDir: dir, schema: false };
}

it("gives each user without a live settings row the defaults at a new revision, and leaves the others alone", async () => {
  const db = await emptyDatabase();
  await migrate(db, migrationsBefore(SETTINGS_MIGRATION));
  const user = async (name: string, revision: number) => {
    const [row] = await db.prisma.$queryRawUnsafe<{ id: string }[]>(
      `INSERT INTO "User" (id, email, username, "usernameKey", "hashedPassword", revision, "updatedAt")
       VALUES (gen_random_uuid(), '${name}@example.com', '${name}', '${name}', 'x', ${revision}, now()) RETURNING id::text`,
    );
    return row!.id;
  };
  const settings = async (userId: string, fields: string, values: string) =>
    db.prisma.$executeRawUnsafe(
      `INSERT INTO "UserSettings" (id, "userId", ${fields}, "updatedAt") VALUES (gen_random_uuid(), '${userId}', ${values}, now())`,
    );
  const none = await user("none", 7);
  const live = await user("live", 4);
  await settings(live, `theme, language, rev`, `'dark', 'zh-CN', 3`);
  const deleted = await user("deleted", 9);
  await settings(deleted, `theme, rev, "deletedAt", "settingsData"`, `'system', 8, now(), '{"a":1}'`);

  await migrate(db);

  const rows = await db.prisma.userSettings.findMany({
    select: { id: true, userId: true, theme: true, language: true, settingsData: true, rev: true, deletedAt: true },
  });
  const users = await db.prisma.user.findMany({ select: { id: true, revision: true } });
  const revisionOf = Object.fromEntries(users.map((u) => [u.id, u.revision]));
  const byUser = Object.fromEntries(rows.map((row) => [row.userId, row]));
  expect(rows).toHaveLength(3);
  expect(byUser[none]).toMatchObject({ id: none, theme: "light", language: "en", settingsData: {}, rev: 8 });
  expect(revisionOf[none]).toBe(8);
  expect(byUser[live]).toMatchObject({ theme: "dark", language: "zh-CN", rev: 3 });
  expect(revisionOf[live]).toBe(4);
  expect(byUser[deleted]).toMatchObject({ theme: "light", settingsData: {}, rev: 10, deletedAt: null });
  expect(revisionOf[deleted]).toBe(10);
});
