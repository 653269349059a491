// The main thread's side of the schema engine's database calls: the worker's stand-in adapter
// (forwarding-adapter.ts) names an adapter or transaction by number, and the real one here runs the call.
import type {
  SqlDriverAdapter,
  SqlMigrationAwareDriverAdapterFactory,
  SqlQuery,
  Transaction,
} from "@prisma/driver-adapter-utils";

import {
  factoryHandle,
  settle,
  type AdapterOpened,
  type TransactionOpened,
  type WireOutcome,
} from "./schema-engine-wire.ts";

type Entry =
  | { kind: "factory"; target: SqlMigrationAwareDriverAdapterFactory }
  | { kind: "adapter"; target: SqlDriverAdapter }
  | { kind: "transaction"; target: Transaction };

export class AdapterHost {
  private readonly entries = new Map<number, Entry>();
  private nextHandle = factoryHandle + 1;
  private readonly running = new Set<Promise<unknown>>();
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(factory: SqlMigrationAwareDriverAdapterFactory) {
    this.entries.set(factoryHandle, { kind: "factory", target: factory });
  }

  /** Runs one forwarded call; never rejects (the outcome carries the error). */
  serve(handle: number, method: string, args: unknown[]): Promise<WireOutcome> {
    const outcome = settle(() => this.run(handle, method, args));
    this.running.add(outcome);
    void outcome.then(() => this.running.delete(outcome));
    return outcome;
  }

  /**
   * After the worker is gone: rolls back the transactions and disposes of the adapters the engine left open,
   * so no connection or PGlite transaction stays held, then waits for the calls still running. Rolling back
   * first matters: a PGlite query waits for an open transaction to end.
   */
  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    this.closed = true;
    const left = [...this.entries.values()];
    this.entries.clear();
    for (const entry of left) if (entry.kind === "transaction") await abandonTransaction(entry.target);
    for (const entry of left) if (entry.kind === "adapter") await entry.target.dispose().catch(() => {});
    await Promise.allSettled([...this.running]);
  }

  private async run(handle: number, method: string, args: unknown[]): Promise<unknown> {
    if (this.closed) throw new Error("the schema engine's database connection is closed");
    const entry = this.entries.get(handle);
    if (!entry) throw new Error(`the schema engine used a closed connection or transaction (${method})`);
    const [first] = args;
    switch (entry.kind) {
      case "factory":
        if (method === "connect") return this.openAdapter(await entry.target.connect());
        if (method === "connectToShadowDb") return this.openAdapter(await entry.target.connectToShadowDb());
        break;
      case "adapter": {
        const adapter = entry.target;
        if (method === "queryRaw") return adapter.queryRaw(first as SqlQuery);
        if (method === "executeRaw") return adapter.executeRaw(first as SqlQuery);
        if (method === "executeScript") return adapter.executeScript(first as string);
        if (method === "startTransaction") {
          return this.openTransaction(
            await adapter.startTransaction(first as Parameters<typeof adapter.startTransaction>[0]),
          );
        }
        if (method === "dispose") {
          this.entries.delete(handle);
          return adapter.dispose();
        }
        break;
      }
      case "transaction": {
        const transaction = entry.target;
        if (method === "queryRaw") return transaction.queryRaw(first as SqlQuery);
        if (method === "executeRaw") return transaction.executeRaw(first as SqlQuery);
        if (method === "commit" || method === "rollback") {
          this.entries.delete(handle);
          return transaction[method]();
        }
        const savepoint = savepointMethods.find((name) => name === method);
        if (savepoint && transaction[savepoint]) return transaction[savepoint](first as string);
        break;
      }
    }
    throw new Error(`the schema engine called ${method}, which a ${entry.kind} does not have`);
  }

  private async openAdapter(adapter: SqlDriverAdapter): Promise<AdapterOpened> {
    const handle = this.adopt({ kind: "adapter", target: adapter });
    if (handle === undefined) {
      await adapter.dispose().catch(() => {});
      throw new Error("the schema engine's database connection is closed");
    }
    let connectionInfo: AdapterOpened["connectionInfo"] = null;
    if (adapter.getConnectionInfo) {
      const info = await settle(async () => adapter.getConnectionInfo?.());
      connectionInfo = info.ok
        ? { ok: true, value: info.value as ReturnType<NonNullable<typeof adapter.getConnectionInfo>> }
        : info;
    }
    return { handle, connectionInfo };
  }

  private async openTransaction(transaction: Transaction): Promise<TransactionOpened> {
    const handle = this.adopt({ kind: "transaction", target: transaction });
    if (handle === undefined) {
      await abandonTransaction(transaction);
      throw new Error("the schema engine's database connection is closed");
    }
    return {
      handle,
      options: transaction.options,
      savepoints: savepointMethods.every((name) => typeof transaction[name] === "function"),
    };
  }

  /** A handle for a new adapter or transaction; none once closed (a call that finished after the worker died). */
  private adopt(entry: Entry): number | undefined {
    if (this.closed) return undefined;
    const handle = this.nextHandle++;
    this.entries.set(handle, entry);
    return handle;
  }
}

const savepointMethods = ["createSavepoint", "rollbackToSavepoint", "releaseSavepoint"] as const;

async function abandonTransaction(transaction: Transaction): Promise<void> {
  // Without the phantom-query option the engine sends BEGIN and COMMIT itself, and rollback() only hands
  // the connection back: the ROLLBACK must be sent here, or the pool would get a connection mid-transaction.
  if (!transaction.options.usePhantomQuery) {
    await transaction.executeRaw({ sql: "ROLLBACK", args: [], argTypes: [] }).catch(() => {});
  }
  await transaction.rollback().catch(() => {});
}
