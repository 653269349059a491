// Keeps a device's local copy in step with the server: pull on start, pull whenever the subscription says a
// newer revision exists, and push the writes queued while offline. The app supplies the storage.
import type { RouterInputs, RouterOutputs } from "./router-types.ts";

import type { ApiClient } from "./client.ts";
import { isUnauthorized } from "./session-link.ts";

export type SyncChange = RouterOutputs["sync"]["pull"]["changes"][number];
export type PushMutation = RouterInputs["sync"]["push"]["mutations"][number];
export type PushResult = RouterOutputs["sync"]["push"]["results"][number];
/** The row kinds that sync carries. */
export type SyncEntity = SyncChange["entity"];

/** A live row as the device keeps it. */
export type StoredRow = Extract<SyncChange, { deleted: false }>;

/**
 * Where the device keeps its copy (IndexedDB on the web, a file on the desktop). `apply` must store the rows
 * and the cursor together, so a crash never leaves a cursor past rows it did not keep.
 */
export interface SyncStore {
  getCursor(): Promise<number | undefined>;
  apply(changes: SyncChange[], cursor: number): Promise<void>;
  /** Forget everything (the server asked for a fresh snapshot). */
  reset(): Promise<void>;
  /** The queued offline writes, oldest first. */
  pending(): Promise<PushMutation[]>;
  enqueue(mutation: PushMutation): Promise<void>;
  /** Drop the queued writes the server has answered. */
  remove(mutationIds: string[]): Promise<void>;
}

/** The default store: in memory (tests, or an app that keeps nothing across restarts). */
export class MemorySyncStore implements SyncStore {
  readonly rows = new Map<string, StoredRow>();
  private cursor: number | undefined;
  private queue: PushMutation[] = [];

  async getCursor() {
    return this.cursor;
  }
  async apply(changes: SyncChange[], cursor: number) {
    for (const change of changes) {
      const key = `${change.entity}:${change.id}`;
      if (change.deleted) this.rows.delete(key);
      else this.rows.set(key, change);
    }
    this.cursor = cursor;
  }
  async reset() {
    this.rows.clear();
    this.cursor = undefined;
  }
  async pending() {
    return [...this.queue];
  }
  async enqueue(mutation: PushMutation) {
    this.queue.push(mutation);
  }
  async remove(mutationIds: string[]) {
    const done = new Set(mutationIds);
    this.queue = this.queue.filter((mutation) => !done.has(mutation.mutationId));
  }

  /** The live rows of one kind. */
  list<E extends SyncEntity>(entity: E): Extract<StoredRow, { entity: E }>["data"][] {
    return [...this.rows.values()].filter((row) => row.entity === entity).map((row) => row.data) as never;
  }
}

export interface SyncEngineOptions {
  client: ApiClient;
  store?: SyncStore;
  /** Rows per pull page. */
  pageSize?: number;
  /** After each pull that changed something. */
  onChange?: (changes: SyncChange[]) => void;
  /** Answers to pushed writes (conflicts carry the server's current row in `error.details.current`). */
  onPushResults?: (results: PushResult[]) => void;
  onError?: (error: unknown) => void;
  /** Each revision the live subscription announces (one on every (re)connect, then one per new write). */
  onRevision?: (revision: number) => void;
  /** Waits between reconnection attempts of the live subscription. */
  retryDelayMs?: (attempt: number) => number;
}

export class SyncEngine {
  readonly store: SyncStore;
  private readonly client: ApiClient;
  private subscription: { unsubscribe(): void } | undefined;
  private running = false;
  private pulling: Promise<void> | undefined;
  private pullAgain = false;
  private pushing: Promise<void> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private attempts = 0;
  /** The newest revision the server announced. */
  latestRevision = 0;

  constructor(private readonly options: SyncEngineOptions) {
    this.client = options.client;
    this.store = options.store ?? new MemorySyncStore();
  }

  /** Pulls, pushes what is queued, then follows the live subscription until `stop()`. */
  async start(): Promise<void> {
    this.running = true;
    this.subscribe();
    await this.flush();
    await this.pull();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.retryTimer);
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  /** Queues a write (with a client-chosen id for creates) and pushes it when the server is reachable. */
  async write(mutation: PushMutation): Promise<void> {
    await this.store.enqueue(mutation);
    await this.flush().catch((error: unknown) => this.options.onError?.(error));
  }

  /** Pushes the queued writes, in order; on a network failure they stay queued for the next try. */
  flush(): Promise<void> {
    this.pushing ??= (async () => {
      try {
        for (;;) {
          const queued = (await this.store.pending()).slice(0, 100);
          if (queued.length === 0) return;
          const { results } = await this.client.sync.push.mutate({ mutations: queued });
          await this.store.remove(results.map((result) => result.mutationId));
          this.options.onPushResults?.(results);
        }
      } finally {
        this.pushing = undefined;
      }
    })();
    return this.pushing;
  }

  /** Pulls every change past the stored cursor; concurrent calls share one run (and one more if asked). */
  pull(): Promise<void> {
    if (this.pulling) {
      this.pullAgain = true;
      return this.pulling;
    }
    this.pulling = (async () => {
      try {
        do {
          this.pullAgain = false;
          await this.pullAll();
        } while (this.pullAgain);
      } finally {
        this.pulling = undefined;
      }
    })();
    return this.pulling;
  }

  private async pullAll(): Promise<void> {
    let since = await this.store.getCursor();
    let snapshot = since === undefined;
    for (;;) {
      let page: RouterOutputs["sync"]["pull"];
      try {
        page = await this.client.sync.pull.query({
          since,
          limit: this.options.pageSize,
          ...(snapshot && since !== undefined && { snapshot: true }),
        });
      } catch (error) {
        if (!isResetRequired(error)) throw error;
        // Deletes this device never saw were pruned: start over from a snapshot.
        await this.store.reset();
        since = undefined;
        snapshot = true;
        continue;
      }
      await this.store.apply(page.changes, page.cursor);
      if (page.changes.length > 0) this.options.onChange?.(page.changes);
      since = page.cursor;
      if (!page.hasMore) return;
    }
  }

  private subscribe(): void {
    if (!this.running) return;
    this.subscription = this.client.sync.subscribe.subscribe(undefined, {
      onData: ({ data }) => {
        this.attempts = 0;
        this.latestRevision = Math.max(this.latestRevision, data.revision);
        this.options.onRevision?.(data.revision);
        // Each signal (including the one on every (re)connect) means: pull what is new, push what waits.
        this.pull().catch((error: unknown) => this.options.onError?.(error));
        this.flush().catch((error: unknown) => this.options.onError?.(error));
      },
      onError: (error) => {
        this.options.onError?.(error);
        // A newer stream of the user took this one's place (the server caps streams per user): coming back
        // would push that one out in turn, and the devices would take turns for ever. Pulls and pushes go on.
        if (!isUnauthorized(error) && !isStreamReplaced(error)) this.resubscribe();
      },
      // The server ended the stream (it is shutting down): connect again, to it or to another replica.
      onComplete: () => this.resubscribe(),
    });
  }

  private resubscribe(): void {
    this.subscription = undefined;
    if (!this.running) return;
    const delay = this.options.retryDelayMs?.(++this.attempts) ?? Math.min(30_000, 500 * 2 ** this.attempts);
    this.retryTimer = setTimeout(() => this.subscribe(), delay);
  }
}

/** The server closed this live stream for a newer one of the same user (`SYNC_MAX_STREAMS_PER_USER`). */
export function isStreamReplaced(error: unknown): boolean {
  const data = (error as { data?: { details?: { reason?: unknown } } } | undefined)?.data;
  return data?.details?.reason === "tooManyStreams";
}

export function isResetRequired(error: unknown): boolean {
  const data = (error as { data?: { details?: { resetRequired?: unknown } } } | undefined)?.data;
  return data?.details?.resetRequired === true;
}
