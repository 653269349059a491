// The migration that made `UserSettings.theme` an enum converts the column in place: every user keeps the
// theme they chose. Applied to a database migrated (with data) as it was before it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, expect, it } from "vitest";

import { createDb, createPglite, migrate, wrapPglite, type Database } from "../src/index.ts";
import { migrationsDir } from "../src/schema-engine.ts";
import { createEmptyPostgresDb, testDatabaseUrl } from "../src/testing.ts";

const THEME_MIGRATION = "20261127073352_theme_enum";
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

/** The migrations as they were just before the theme migration (the schema check is for the latest). */
function before(): { migrationsDir: string; schema: false } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pb-migrations-"));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const entry of fs.readdirSync(migrationsDir)) {
    if (entry >= THEME_MIGRATION) continue;
    fs.cpSync(path.join(migrationsDir, entry), path.join(dir, entry), { recursive: true });
  }
  return { migrationsDir: dir, schema: false };
}

it("keeps every user's theme", async () => {
  const db = await emptyDatabase();
  await migrate(db, before());
  for (const [name, theme] of [
    ["dark", "dark"],
    ["system", "system"],
    ["light", "light"],
  ]) {
    await db.prisma.$executeRawUnsafe(
      `INSERT INTO "User" (id, email, username, "usernameKey", "hashedPassword", "updatedAt")
       VALUES (gen_random_uuid(), '${name}@example.com', '${name}', '${name}', 'x', now())`,
    );
    await db.prisma.$executeRawUnsafe(
      `INSERT INTO "UserSettings" (id, "userId", theme, "settingsData", rev, "updatedAt")
       SELECT gen_random_uuid(), id, '${theme}', '{}', 1, now() FROM "User" WHERE username = '${name}'`,
    );
  }

  const later = fs.readdirSync(migrationsDir).filter((entry) => entry >= THEME_MIGRATION && entry.match(/^\d/));
  expect((await migrate(db)).applied).toEqual(later);
  const rows = await db.prisma.userSettings.findMany({ select: { theme: true, user: { select: { username: true } } } });
  expect(Object.fromEntries(rows.map((row) => [row.user.username, row.theme]))).toEqual({
    dark: "dark",
    system: "system",
    light: "light",
  });
});
