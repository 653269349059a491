// What a device keeps between runs, and the interface every store implements: in memory (here), IndexedDB
// (browsers, idb-store.ts) and a file (Node and Electron's main process, file-store.ts, in the ./electron
// entry). One engine per store: two engines writing one store would each push the other's queue.
import type {
  PushConflict,
  PushMutationInput,
  PushRejected,
  SyncChange as ServerSyncChange,
} from "@prompt-booster/api/schemas";

/** A change as sync.pull delivers it: a whole row, or a tombstone. */
export type SyncChange = ServerSyncChange;
/** A live row as the device keeps it (dates as Date objects). */
export type StoredRow = Extract<SyncChange, { deleted: false }>;
/** The row kinds that sync carries. */
export type SyncEntity = SyncChange["entity"];
/** A queued offline write, exactly as the app wrote it (validated before it was queued). */
export type QueuedMutation = PushMutationInput;

/** A mutation the server answered with `rejected` or `conflict`: out of the queue, kept until the app deals with it. */
export interface RejectedMutation {
  mutation: QueuedMutation;
  result: PushConflict | PushRejected;
  /** When the answer came (epoch milliseconds). */
  at: number;
}

/** Everything a store holds, as the engine reads it once at start. */
export interface StoredState {
  /** The cursor of the last pull; undefined = nothing pulled yet (the next pull is a snapshot). */
  cursor: number | undefined;
  /** The server's rows as last pulled (live rows only). */
  rows: StoredRow[];
  /** Writes not yet answered by the server, oldest first. */
  pending: QueuedMutation[];
  /** Writes the server refused, oldest first. */
  rejected: RejectedMutation[];
}

/**
 * Where the device keeps its copy. Each method's promise resolves once the change is durable (a crash after
 * it loses nothing), and each is atomic (a crash during it leaves the state before or after, never between).
 */
export interface SyncStore {
  load(): Promise<StoredState>;
  /** Stores pulled changes and the cursor past them together, so a cursor never runs ahead of its rows. */
  apply(changes: SyncChange[], cursor: number): Promise<void>;
  /** Forgets the rows and the cursor (the server asked for a fresh snapshot); the queue and rejections stay. */
  reset(): Promise<void>;
  /** Appends a write to the queue. */
  enqueue(mutation: QueuedMutation): Promise<void>;
  /** Drops the answered writes from the queue, moving the refused ones (among them) to the rejected list. */
  settle(answered: string[], rejected: RejectedMutation[]): Promise<void>;
  /** Drops entries of the rejected list (the app has dealt with them). */
  forgetRejected(mutationIds: string[]): Promise<void>;
}

/** The key a row is stored under: kind and id. */
export const rowKey = (row: { entity: SyncEntity; id: string }) => `${row.entity}:${row.id}`;

/** The state after `changes` at `cursor`: the shared rule of every store. */
export function applyChanges(rows: Map<string, StoredRow>, changes: readonly SyncChange[]): void {
  for (const change of changes) {
    if (change.deleted) rows.delete(rowKey(change));
    else rows.set(rowKey(change), change);
  }
}

/** Keeps everything in memory: for tests, or an app that keeps nothing across restarts. */
export class MemorySyncStore implements SyncStore {
  private readonly rows = new Map<string, StoredRow>();
  private cursor: number | undefined;
  private queue: QueuedMutation[] = [];
  private refused: RejectedMutation[] = [];

  async load(): Promise<StoredState> {
    return {
      cursor: this.cursor,
      rows: [...this.rows.values()],
      pending: [...this.queue],
      rejected: [...this.refused],
    };
  }
  async apply(changes: SyncChange[], cursor: number) {
    applyChanges(this.rows, changes);
    this.cursor = cursor;
  }
  async reset() {
    this.rows.clear();
    this.cursor = undefined;
  }
  async enqueue(mutation: QueuedMutation) {
    this.queue.push(mutation);
  }
  async settle(answered: string[], rejected: RejectedMutation[]) {
    const done = new Set(answered);
    this.queue = this.queue.filter((mutation) => !done.has(mutation.mutationId));
    this.refused.push(...rejected);
  }
  async forgetRejected(mutationIds: string[]) {
    const gone = new Set(mutationIds);
    this.refused = this.refused.filter((entry) => !gone.has(entry.mutation.mutationId));
  }
}
