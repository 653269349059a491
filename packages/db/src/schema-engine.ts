// Prisma's schema engine compiled to WebAssembly: migrations without the native binary, which cannot be
// downloaded everywhere. The engine runs in a worker thread (schema-engine-worker.ts) only while migration
// work needs it: its compiled code and memory (some 35 MB) leave with the thread instead of staying in the
// server for its whole life. Its SQL still runs here, on the caller's driver adapter (adapter-host.ts).
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import type { MigrationDirectory, MigrationList, SchemaEngine, SchemaFilter } from "@prisma/schema-engine-wasm";

import { AdapterHost } from "./adapter-host.ts";
import { fromWire, postAnswer, type FromWorker, type ToWorker, type WorkerSetup } from "./schema-engine-wire.ts";

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));

/** The schema and migrations: `../prisma` from this source file, or `./prisma` beside a bundled server. */
export const prismaDir =
  [path.join(here, "..", "prisma"), path.join(here, "prisma")].find((dir) =>
    fs.existsSync(path.join(dir, "schema.prisma")),
  ) ?? path.join(here, "..", "prisma");
export const schemaPath = path.join(prismaDir, "schema.prisma");
export const migrationsDir = path.join(prismaDir, "migrations");
export const noFilters: SchemaFilter = { externalTables: [], externalEnums: [] };

export function readSchema(): string {
  return fs.readFileSync(schemaPath, "utf8");
}

const engineMethods = [
  "applyMigrations",
  "createMigration",
  "dbExecute",
  "devDiagnostic",
  "diagnoseMigrationHistory",
  "diff",
  "ensureConnectionValidity",
  "evaluateDataLoss",
  "introspect",
  "introspectSql",
  "markMigrationApplied",
  "markMigrationRolledBack",
  "reset",
  "schemaPush",
  "version",
] as const satisfies readonly (keyof SchemaEngine)[];

/** The engine's calls, answered by its thread; `free` ends the thread (and must be awaited). */
export type RemoteSchemaEngine = Pick<SchemaEngine, (typeof engineMethods)[number]> & { free(): Promise<void> };

/**
 * Starts the schema engine in its own thread, its database calls served by `adapterFactory` on this one.
 * The caller frees it when done; a worker that fails or dies rejects the calls still waiting.
 */
export async function openSchemaEngine(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  schema = readSchema(),
): Promise<RemoteSchemaEngine> {
  const thread = new EngineThread(adapterFactory, {
    schema,
    provider: adapterFactory.provider,
    adapterName: adapterFactory.adapterName,
  });
  try {
    await thread.ready;
  } catch (error) {
    await thread.stop();
    throw error;
  }
  const calls = engineMethods.map((method) => [method, (...args: unknown[]) => thread.call(method, args)]);
  // Each entry forwards one method with its own arguments and answer: the cast only restores the names' types.
  return {
    ...(Object.fromEntries(calls) as Pick<SchemaEngine, (typeof engineMethods)[number]>),
    free: () => thread.stop(),
  };
}

/** The worker: its bundled .js beside the server's bundle, or from source its TypeScript through tsx. */
function startWorker(setup: WorkerSetup): Worker {
  const built = path.join(here, "schema-engine-worker.js");
  if (fs.existsSync(built)) return new Worker(built, { workerData: setup });
  // Node 20 cannot run TypeScript, and a worker inherits neither a test runner's transform nor (for its
  // entry) an --import of tsx: a two-line script registers tsx's ESM hooks, then imports the source.
  const tsxApi = pathToFileURL(require.resolve("tsx/esm/api").replace(/\.cjs$/, ".mjs")).href;
  const source = pathToFileURL(path.join(here, "schema-engine-worker.ts")).href;
  const script = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(script, { eval: true, workerData: setup });
}

let runningThreads = 0;

/** Engine threads alive in this process right now: none once every engine has been freed. */
export const engineThreadsRunning = (): number => runningThreads;

type Waiter = { resolve: (value: unknown) => void; reject: (error: unknown) => void };

class EngineThread {
  readonly ready: Promise<void>;
  private readonly worker: Worker;
  private readonly host: AdapterHost;
  private readonly engineCalls = new Map<number, Waiter>();
  private nextCallId = 1;
  private waiting = 0;
  private readyWaiter: Waiter | undefined;
  private ended: Error | undefined;
  private stopping: Promise<void> | undefined;

  constructor(adapterFactory: SqlMigrationAwareDriverAdapterFactory, setup: WorkerSetup) {
    this.host = new AdapterHost(adapterFactory);
    this.worker = startWorker(setup);
    runningThreads++;
    this.ready = this.wait(
      new Promise((resolve, reject) => {
        this.readyWaiter = { resolve: () => resolve(), reject };
      }),
    );
    this.worker.on("message", (message: FromWorker) => this.receive(message));
    this.worker.on("error", (error) => this.end(new Error(`the schema engine's worker failed: ${error.message}`)));
    this.worker.on("exit", (code) => {
      runningThreads--;
      this.end(new Error(`the schema engine's worker exited (code ${code})`));
    });
  }

  call(method: string, args: unknown[]): Promise<unknown> {
    if (this.ended) return Promise.reject(this.ended);
    const id = this.nextCallId++;
    return this.wait(
      new Promise((resolve, reject) => {
        this.engineCalls.set(id, { resolve, reject });
        const message: ToWorker = { type: "engine-call", id, method, args };
        try {
          this.worker.postMessage(message);
        } catch (error) {
          this.engineCalls.delete(id);
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      }),
    );
  }

  /** Ends the worker (its isolate, with the engine's code and memory, goes), then whatever it left open. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.end(new Error("the schema engine was freed"));
      await this.worker.terminate();
      await this.host.close();
    })();
    return this.stopping;
  }

  /** The worker keeps the process alive only while someone waits for it: an idle engine never holds exit. */
  private wait<T>(work: Promise<T>): Promise<T> {
    if (this.waiting++ === 0) this.worker.ref();
    return work.finally(() => {
      if (--this.waiting === 0) this.worker.unref();
    });
  }

  private receive(message: FromWorker): void {
    switch (message.type) {
      case "ready":
        this.readyWaiter?.resolve(undefined);
        return;
      case "failed":
        this.readyWaiter?.reject(fromWire(message.error));
        return;
      case "engine-answer": {
        const waiter = this.engineCalls.get(message.id);
        this.engineCalls.delete(message.id);
        if (message.ok) waiter?.resolve(message.value);
        else waiter?.reject(fromWire(message.error));
        return;
      }
      case "adapter-call":
        void this.host.serve(message.handle, message.method, message.args).then((outcome) => {
          if (this.ended) return;
          postAnswer(
            (answer: ToWorker) => this.worker.postMessage(answer),
            (answer): ToWorker => ({ type: "adapter-answer", id: message.id, ...answer }),
            outcome,
          );
        });
    }
  }

  /** Rejects everything still waiting with `reason`, once; a dead worker's open transactions are rolled back. */
  private end(reason: Error): void {
    if (this.ended) return;
    this.ended = reason;
    this.readyWaiter?.reject(reason);
    for (const waiter of this.engineCalls.values()) waiter.reject(reason);
    this.engineCalls.clear();
    void this.host.close();
  }
}

/** The committed migration folders, in name order, as the engine wants them. */
export function readMigrations(dir = migrationsDir): MigrationList {
  const directories: MigrationDirectory[] = fs.existsSync(dir)
    ? fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .sort()
        .map((name) => {
          const file = path.join(dir, name, "migration.sql");
          return {
            path: name,
            migrationFile: {
              path: "migration.sql",
              content: fs.existsSync(file)
                ? { tag: "ok" as const, value: fs.readFileSync(file, "utf8") }
                : { tag: "error" as const, value: `${file} is missing` },
            },
          };
        })
    : [];
  const lockPath = path.join(dir, "migration_lock.toml");
  return {
    baseDir: dir,
    lockfile: {
      path: "migration_lock.toml",
      content: fs.existsSync(lockPath) ? fs.readFileSync(lockPath, "utf8") : null,
    },
    shadowDbInitScript: "",
    migrationDirectories: directories,
  };
}
