import type { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";

import type { Database } from "./database.ts";
import { createMigrationPool } from "./pg-migration-pool.ts";
import {
  migrationsDir,
  noFilters,
  openSchemaEngine,
  readMigrations,
  readSchema,
  type RemoteSchemaEngine,
} from "./schema-engine.ts";

/** A migration problem a person must fix; its message is one line that says what and how. */
export class MigrationError extends Error {
  override name = "MigrationError";
}

export interface MigrateOptions {
  migrationsDir?: string;
  /**
   * The schema the migrations must produce; drift from it is an error. `false` skips the check: for a
   * database deliberately brought only to an older migration (a test of a later one's data conversion).
   */
  schema?: string | false;
}

export interface MigrateResult {
  applied: string[];
}

// Any fixed 64-bit key: every migrator of every process takes this PostgreSQL advisory lock.
const MIGRATION_LOCK_KEY = 7_260_518_404_109n;

/**
 * Applies the committed migrations that the database lacks, recording them in `_prisma_migrations`
 * exactly as `prisma migrate deploy` does. Safe to run twice, and from two processes at once (the
 * second waits for the first, then finds nothing to do). Refuses, with one clear line, a database
 * whose history or schema no longer matches the migrations.
 */
export async function migrate(db: Database, options: MigrateOptions = {}): Promise<MigrateResult> {
  const migrationsList = readMigrations(options.migrationsDir ?? migrationsDir);
  if (migrationsList.migrationDirectories.length === 0) {
    throw new MigrationError(`no migrations found in ${migrationsList.baseDir}`);
  }
  const schema = options.schema ?? readSchema();

  return withMigrationLock(db, async (engine) => {
    const history = await engine.diagnoseMigrationHistory({
      migrationsList,
      optInToShadowDatabase: false,
      filters: noFilters,
    });
    if (history.failedMigrationNames.length > 0) {
      throw new MigrationError(
        `migration ${history.failedMigrationNames.join(", ")} failed earlier and left the database half-migrated; repair it by hand, then delete its row from _prisma_migrations`,
      );
    }
    if (history.editedMigrationNames.length > 0) {
      throw new MigrationError(
        `migration ${history.editedMigrationNames.join(", ")} was changed after it was applied; restore the committed file and add a new migration instead`,
      );
    }
    const diagnostic = history.history?.diagnostic;
    if (diagnostic === "migrationsDirectoryIsBehind" || diagnostic === "historiesDiverge") {
      const unknown =
        history.history && "unpersistedMigrationNames" in history.history
          ? history.history.unpersistedMigrationNames
          : [];
      throw new MigrationError(
        `the database has migrations this code does not know (${unknown.join(", ")}); it belongs to another version of the server`,
      );
    }

    const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList, filters: noFilters });

    if (schema === false) return { applied: appliedMigrationNames };
    // Drift: the live schema must be exactly what the schema file describes.
    const drift = await engine.diff({
      from: {
        tag: "schemaDatasource",
        files: [{ path: "schema.prisma", content: schema }],
        configDir: migrationsList.baseDir,
      },
      to: { tag: "schemaDatamodel", files: [{ path: "schema.prisma", content: schema }] },
      script: true,
      exitCode: null,
      filters: noFilters,
    });
    const driftSql = meaningfulSql(drift.stdout);
    if (driftSql) {
      throw new MigrationError(
        `the database schema has drifted from prisma/schema.prisma (it would need: ${firstStatement(driftSql)}); create a migration with \`pnpm db:migration:new <name>\` or repair the database`,
      );
    }
    return { applied: appliedMigrationNames };
  });
}

/** SQL without comments and blank lines; empty when the diff found nothing to do. */
export function meaningfulSql(sql: string | null): string {
  return (sql ?? "")
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.trim().startsWith("--"))
    .join("\n")
    .trim();
}

function firstStatement(sql: string): string {
  const first = sql.split(";")[0] ?? sql;
  return first.replace(/\s+/g, " ").slice(0, 160);
}

async function withMigrationLock<T>(db: Database, work: (engine: RemoteSchemaEngine) => Promise<T>): Promise<T> {
  if (db.pglite) return withPgliteLock(db.pglite, () => runEngine(new PrismaPGlite(db.pglite!), work));

  const lockClient = new pg.Client({ ...db.pgConfig });
  lockClient.on("error", () => {});
  await lockClient.connect();
  try {
    await lockClient.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY.toString()]);
    const pool = createMigrationPool(db.pgConfig ?? {});
    try {
      return await runEngine(new PrismaPg(pool), work);
    } finally {
      await pool.end();
    }
  } finally {
    // Ending the session releases the advisory lock even if the unlock query cannot run.
    await lockClient.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY.toString()]).catch(() => {});
    await lockClient.end().catch(() => {});
  }
}

async function runEngine<T>(
  adapter: SqlMigrationAwareDriverAdapterFactory,
  work: (engine: RemoteSchemaEngine) => Promise<T>,
): Promise<T> {
  try {
    const engine = await openSchemaEngine(adapter);
    try {
      return await work(engine);
    } finally {
      await engine.free();
    }
  } catch (error) {
    if (error instanceof MigrationError) throw error;
    throw new MigrationError(`migration failed: ${describeEngineError(error)}`);
  }
}

function describeEngineError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // The engine's first line is often only "external connector error": the database's own words follow.
  const lines = message.split("\n").map((line) => line.trim());
  const [first, second] = lines.filter((line) => line !== "");
  if (!first) return "unknown error";
  return second?.startsWith("Error querying the database") ? `${first}: ${second}` : first;
}

// One PGlite instance serves one process; migrators inside it run one after the other.
const pgliteQueues = new WeakMap<PGlite, Promise<unknown>>();

function withPgliteLock<T>(pglite: PGlite, work: () => Promise<T>): Promise<T> {
  const previous = pgliteQueues.get(pglite) ?? Promise.resolve();
  const next = previous.catch(() => {}).then(work);
  pgliteQueues.set(pglite, next);
  return next;
}
