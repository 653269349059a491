// A SyncStore in the browser's IndexedDB: one database per store name (per user, so two accounts on one browser
// never share rows or a queue), each method one transaction that resolves on `complete`. Rows keep their Date
// objects as they are (structured clone). Nothing here touches `indexedDB` until a method is called, so the
// module is safe to import where there is none (server-side rendering, tests).
import {
  applyChanges,
  rowKey,
  type QueuedMutation,
  type RejectedMutation,
  type StoredRow,
  type StoredState,
  type SyncChange,
  type SyncStore,
} from "./sync-store.ts";

// The part of the IndexedDB API the store uses, typed here because the package compiles without the DOM lib.
interface IdbRequest<T = unknown> {
  readonly result: T;
  readonly error: { name: string; message: string } | null;
  onsuccess: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
}
interface IdbCursor {
  readonly value: unknown;
  delete(): IdbRequest;
  continue(): void;
}
interface IdbObjectStore {
  get(key: string): IdbRequest;
  getAll(): IdbRequest<unknown[]>;
  put(value: unknown, key?: string): IdbRequest;
  add(value: unknown): IdbRequest;
  delete(key: string): IdbRequest;
  clear(): IdbRequest;
  openCursor(): IdbRequest<IdbCursor | null>;
}
interface IdbTransaction {
  readonly error: { name: string; message: string } | null;
  objectStore(name: string): IdbObjectStore;
  abort(): void;
  oncomplete: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onabort: ((event: unknown) => void) | null;
}
interface IdbDatabase {
  readonly objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string, options?: { autoIncrement?: boolean }): unknown;
  transaction(stores: string[], mode: "readonly" | "readwrite", options?: { durability?: string }): IdbTransaction;
  close(): void;
  onversionchange: ((event: unknown) => void) | null;
  onclose: ((event: unknown) => void) | null;
}
interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: ((event: unknown) => void) | null;
  onblocked: ((event: unknown) => void) | null;
}
/** The part of `window.indexedDB` the store uses. */
export interface IndexedDbFactory {
  open(name: string, version: number): IdbOpenRequest;
  deleteDatabase(name: string): IdbRequest & { onblocked: ((event: unknown) => void) | null };
}

export interface IndexedDbSyncStoreOptions {
  /** Which device copy: use the signed-in user's id, so each account gets a database of its own. */
  name: string;
  /** Defaults to `globalThis.indexedDB`, read when the store is first used. */
  indexedDB?: IndexedDbFactory;
}

const VERSION = 1;
const ROWS = "rows"; // key `entity:id` → StoredRow
const META = "meta"; // "cursor" → number
const QUEUE = "queue"; // auto-increment key (so oldest first) → QueuedMutation
const REJECTED = "rejected"; // auto-increment key → RejectedMutation
const CURSOR_KEY = "cursor";

/** The prefix of every database this store creates, followed by the store's `name`. */
export const INDEXED_DB_PREFIX = "prompt-booster-sync:";

/** Keeps a device's rows, cursor and offline writes in IndexedDB, across reloads. */
export class IndexedDbSyncStore implements SyncStore {
  readonly databaseName: string;
  private readonly factory: IndexedDbFactory | undefined;
  private connection: Promise<IdbDatabase> | undefined;

  constructor(options: IndexedDbSyncStoreOptions) {
    if (!options.name) throw new Error("IndexedDbSyncStore: a name is required (the signed-in user's id, say)");
    this.databaseName = INDEXED_DB_PREFIX + options.name;
    this.factory = options.indexedDB;
  }

  async load(): Promise<StoredState> {
    let state: StoredState | undefined;
    await this.run("load", [ROWS, META, QUEUE, REJECTED], "readonly", (tx) => {
      const rows = tx.objectStore(ROWS).getAll();
      const cursor = tx.objectStore(META).get(CURSOR_KEY);
      const pending = tx.objectStore(QUEUE).getAll();
      const rejected = tx.objectStore(REJECTED).getAll();
      // Requests of one transaction succeed in the order they were made: the last one sees all results.
      rejected.onsuccess = () => {
        state = {
          cursor: typeof cursor.result === "number" ? cursor.result : undefined,
          rows: rows.result as StoredRow[],
          pending: pending.result as QueuedMutation[],
          rejected: rejected.result as RejectedMutation[],
        };
      };
    });
    if (!state) throw this.failure("load", undefined);
    return state;
  }

  async apply(changes: SyncChange[], cursor: number): Promise<void> {
    await this.run("apply", [ROWS, META], "readwrite", (tx) => {
      const rows = tx.objectStore(ROWS);
      // The shared rule decides what a page leaves behind; only the keys it touched are written.
      const after = new Map<string, StoredRow>();
      applyChanges(after, changes);
      for (const key of new Set(changes.map(rowKey))) {
        const row = after.get(key);
        if (row) rows.put(row, key);
        else rows.delete(key);
      }
      tx.objectStore(META).put(cursor, CURSOR_KEY);
    });
  }

  async reset(): Promise<void> {
    await this.run("reset", [ROWS, META], "readwrite", (tx) => {
      tx.objectStore(ROWS).clear();
      tx.objectStore(META).delete(CURSOR_KEY);
    });
  }

  async enqueue(mutation: QueuedMutation): Promise<void> {
    await this.run("enqueue", [QUEUE], "readwrite", (tx) => {
      tx.objectStore(QUEUE).add(mutation);
    });
  }

  async settle(answered: string[], rejected: RejectedMutation[]): Promise<void> {
    const done = new Set(answered);
    await this.run("settle", [QUEUE, REJECTED], "readwrite", (tx) => {
      deleteWhere(tx.objectStore(QUEUE), (value) => done.has((value as QueuedMutation).mutationId));
      const refused = tx.objectStore(REJECTED);
      for (const entry of rejected) refused.add(entry);
    });
  }

  async forgetRejected(mutationIds: string[]): Promise<void> {
    const gone = new Set(mutationIds);
    await this.run("forgetRejected", [REJECTED], "readwrite", (tx) => {
      deleteWhere(tx.objectStore(REJECTED), (value) => gone.has((value as RejectedMutation).mutation.mutationId));
    });
  }

  /** Closes the connection; the next call opens it again. */
  close(): void {
    const connection = this.connection;
    this.connection = undefined;
    void connection?.then(
      (db) => db.close(),
      () => {},
    );
  }

  /** Deletes this store's database (the user signed out of this device and wants nothing left behind). */
  async destroy(): Promise<void> {
    this.close();
    const request = this.indexedDb().deleteDatabase(this.databaseName);
    await new Promise<void>((resolve, reject) => {
      request.onsuccess = () => resolve();
      request.onerror = () => reject(this.failure("destroy", request.error));
      // Another tab still has it open and has not closed on `versionchange`: the delete waits for it.
      request.onblocked = () => {};
    });
  }

  /** One transaction: `work` makes its requests synchronously; resolves once the transaction has committed. */
  private async run(
    what: string,
    stores: string[],
    mode: "readonly" | "readwrite",
    work: (tx: IdbTransaction) => void,
  ): Promise<void> {
    const db = await this.open();
    let tx: IdbTransaction;
    try {
      // "strict": the commit reaches the disk before `complete` (browsers without the option ignore it).
      tx = db.transaction(stores, mode, { durability: "strict" });
    } catch (error) {
      // The connection was closed under us (versionchange, storage cleared): open it once more.
      if ((error as { name?: string }).name !== "InvalidStateError") throw this.failure(what, error);
      this.connection = undefined;
      tx = (await this.open()).transaction(stores, mode, { durability: "strict" });
    }
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(this.failure(what, tx.error));
      try {
        work(tx);
      } catch (error) {
        tx.abort();
        reject(this.failure(what, error));
      }
    });
  }

  private open(): Promise<IdbDatabase> {
    this.connection ??= new Promise<IdbDatabase>((resolve, reject) => {
      let request: IdbOpenRequest;
      try {
        request = this.indexedDb().open(this.databaseName, VERSION);
      } catch (error) {
        reject(this.failure("open", error));
        return;
      }
      request.onupgradeneeded = () => {
        const db = request.result;
        for (const name of [ROWS, META]) if (!db.objectStoreNames.contains(name)) db.createObjectStore(name);
        for (const name of [QUEUE, REJECTED]) {
          if (!db.objectStoreNames.contains(name)) db.createObjectStore(name, { autoIncrement: true });
        }
      };
      request.onsuccess = () => {
        const db = request.result;
        // Another tab upgrades or deletes the database: step aside, the next call opens the new one.
        db.onversionchange = () => {
          db.close();
          this.forget(db);
        };
        // Closed by the browser (storage cleared, disk error).
        db.onclose = () => this.forget(db);
        resolve(db);
      };
      request.onerror = () => reject(this.failure("open", request.error));
      // An older connection (another tab) that ignores versionchange holds the database; the open waits for it.
      request.onblocked = () => {};
    });
    const opening = this.connection;
    // A failed open is not kept: the next call tries again.
    opening.catch(() => {
      if (this.connection === opening) this.connection = undefined;
    });
    return opening;
  }

  private forget(db: IdbDatabase): void {
    const current = this.connection;
    void current?.then((open) => {
      if (open === db && this.connection === current) this.connection = undefined;
    });
  }

  private indexedDb(): IndexedDbFactory {
    const factory = this.factory ?? (globalThis as { indexedDB?: IndexedDbFactory }).indexedDB;
    if (!factory) throw new Error("IndexedDbSyncStore: this environment has no indexedDB");
    return factory;
  }

  private failure(what: string, cause: unknown): Error {
    const detail = cause instanceof Object && "message" in cause ? String(cause.message) : "the transaction aborted";
    const name = cause instanceof Object && "name" in cause ? `${String(cause.name)}: ` : "";
    return new Error(`IndexedDbSyncStore "${this.databaseName}": ${what} failed (${name}${detail})`, { cause });
  }
}

/** Deletes, inside the store's transaction, every entry `matches` picks. */
function deleteWhere(store: IdbObjectStore, matches: (value: unknown) => boolean): void {
  const request = store.openCursor();
  request.onsuccess = () => {
    const cursor = request.result;
    if (!cursor) return;
    if (matches(cursor.value)) cursor.delete();
    cursor.continue();
  };
}
