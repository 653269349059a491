import { PGlite, type PGliteOptions } from "@electric-sql/pglite";
import { btree_gin } from "@electric-sql/pglite/contrib/btree_gin";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { PrismaPg } from "@prisma/adapter-pg";
import type { SqlDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import fs from "node:fs";
import path from "node:path";

import { lockDataDir } from "./data-dir-lock.ts";
import { PrismaClient } from "./generated/prisma/client.ts";

export interface DbConfig {
  /** A PostgreSQL URL. When absent, the embedded PGlite database in `dataDir` is used. */
  databaseUrl?: string | undefined;
  /** The PGlite data folder (`memory://` for a throw-away in-memory database). */
  dataDir: string;
  /** PostgreSQL pool settings; they make requests fail fast while the database is down. */
  pool?: Partial<PoolSettings>;
}

export interface PoolSettings {
  max: number;
  connectionTimeoutMs: number;
  idleTimeoutMs: number;
  statementTimeoutMs: number;
}

const defaultPool: PoolSettings = {
  max: 10,
  connectionTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
  statementTimeoutMs: 15_000,
};

export type DbProvider = "pglite" | "postgresql";

/** One open database: the Prisma client plus what the migrator and health checks need. */
export interface Database {
  readonly provider: DbProvider;
  readonly prisma: PrismaClient;
  /** The embedded instance, when this is PGlite. */
  readonly pglite?: PGlite;
  /** The pool settings, when this is PostgreSQL (the migrator opens its own connections with them). */
  readonly pgConfig?: pg.PoolConfig;
  /** Answers when the database answers; throws otherwise. */
  ping(): Promise<void>;
  /** The connection pool right now, when this is PostgreSQL (PGlite has one engine and no pool). */
  poolStats?: () => PoolStats;
  close(): Promise<void>;
}

/** Read-only figures of the PostgreSQL pool, for metrics. */
export interface PoolStats {
  /** Connections open, idle or lent out. */
  total: number;
  idle: number;
  /** Queries waiting for a connection: the pool is at `max` and all of them are lent out. */
  waiting: number;
  max: number;
}

function newPrismaClient(adapter: SqlDriverAdapterFactory): PrismaClient {
  // Under load a transaction may queue for a connection (or, on PGlite, for the single engine) a while.
  return new PrismaClient({ adapter, transactionOptions: { maxWait: 10_000, timeout: 20_000 } });
}

export async function createDb(config: DbConfig): Promise<Database> {
  return config.databaseUrl
    ? openPostgres(config.databaseUrl, { ...defaultPool, ...config.pool })
    : openPglite(config.dataDir);
}

function openPostgres(connectionString: string, settings: PoolSettings): Database {
  const pgConfig: pg.PoolConfig = {
    connectionString,
    max: settings.max,
    connectionTimeoutMillis: settings.connectionTimeoutMs,
    idleTimeoutMillis: settings.idleTimeoutMs,
    statement_timeout: settings.statementTimeoutMs,
    // A dead server must not leave a request waiting forever on a half-open socket.
    keepAlive: true,
  };
  const pool = new pg.Pool(pgConfig);
  // An idle client losing its connection (database restart) emits here; without a listener it would crash the process.
  pool.on("error", () => {});
  const prisma = newPrismaClient(new PrismaPg(pool));
  return {
    provider: "postgresql",
    prisma,
    pgConfig,
    async ping() {
      const client = await pool.connect();
      try {
        await client.query("SELECT 1");
      } finally {
        client.release();
      }
    },
    poolStats: () => ({
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
      max: settings.max,
    }),
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/**
 * Opens a PGlite engine with the extensions the migrations create (pg_trgm and btree_gin: the trigram indexes
 * text search uses, per user). Every PGlite this project opens goes through here: a data folder holding
 * those indexes cannot be read, nor the migrations replayed, by an engine without them.
 */
export function createPglite(dataDir?: string, options: PGliteOptions = {}): Promise<PGlite> {
  return PGlite.create({
    ...options,
    ...(dataDir && { dataDir }),
    extensions: { ...options.extensions, pg_trgm, btree_gin },
  });
}

async function openPglite(dataDir: string): Promise<Database> {
  if (dataDir.startsWith("memory://")) return wrapPglite(await createPglite(dataDir));
  fs.mkdirSync(path.resolve(dataDir), { recursive: true });
  const unlock = lockDataDir(dataDir);
  try {
    return wrapPglite(await createPglite(dataDir), unlock);
  } catch (error) {
    unlock();
    throw error;
  }
}

/** A Database over a PGlite instance the caller opened (tests load a pre-migrated copy this way). */
export function wrapPglite(pglite: PGlite, onClose: () => void = () => {}): Database {
  const prisma = newPrismaClient(new PrismaPGlite(pglite));
  return {
    provider: "pglite",
    prisma,
    pglite,
    async ping() {
      if (pglite.closed) throw new Error("the embedded database is closed");
      await pglite.query("SELECT 1");
    },
    async close() {
      await prisma.$disconnect();
      if (!pglite.closed) await pglite.close();
      onClose();
    },
  };
}
