export { createDb, createPglite, wrapPglite } from "./database.ts";
export { DataDirInUseError } from "./data-dir-lock.ts";
export type { Database, DbConfig, DbProvider, PoolSettings } from "./database.ts";
export { migrate, MigrationError } from "./migrator.ts";
export type { MigrateResult } from "./migrator.ts";
export * from "./generated/prisma/client.ts";
