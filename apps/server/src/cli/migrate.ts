// `pnpm db:migrate`: applies pending migrations to the database the server would use (same configuration).
import { createDb, migrate } from "@prompt-booster/db";

import { loadConfig } from "../config.ts";

try {
  const config = loadConfig(process.env);
  const db = await createDb(config.db);
  try {
    const { applied } = await migrate(db);
    console.log(applied.length > 0 ? `applied: ${applied.join(", ")}` : "database is up to date");
  } finally {
    await db.close();
  }
  process.exit(0);
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
