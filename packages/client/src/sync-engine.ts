// Keeps a device's copy in step with the server: pull on start, pull whenever the subscription says a newer
// revision exists, push the writes queued while offline. The engine keeps an in-memory mirror of its store
// (one engine per store) and shows the app the rows with its unconfirmed writes applied (`engine.view`).
import type { PushResult } from "@prompt-booster/api/schemas";

import type { ApiClient } from "./client.ts";
import { LocalView, type Overlay } from "./local-view.ts";
import type { RouterOutputs } from "./router-types.ts";
import { isUnauthorized } from "./session-link.ts";
import type * as Validate from "./validate.ts";
import {
  applyChanges,
  MemorySyncStore,
  rowKey,
  type QueuedMutation,
  type RejectedMutation,
  type StoredRow,
  type SyncChange,
  type SyncStore,
} from "./sync-store.ts";

export type { PushResult };
export { InvalidMutationError } from "./mutation-error.ts";

/** sync.push takes at most this many mutations per call (the server's MAX_PUSH_MUTATIONS). */
const PUSH_BATCH = 100;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What `engine.write` takes: a mutation as the app writes it; without a mutationId the engine makes one. */
export type WriteMutation = DistributiveOmit<QueuedMutation, "mutationId"> & { mutationId?: string };

/** What changed the view: `onChange` gets one after every change. */
export type ViewChange =
  | { cause: "load" }
  | { cause: "pull"; changes: SyncChange[] }
  | { cause: "reset" }
  | { cause: "write"; mutationId: string }
  /** Answers to a push: the refused writes (`rejected`) are rolled back in the view. */
  | { cause: "push"; results: PushResult[]; rejected: RejectedMutation[] };

export interface SyncEngineOptions {
  client: ApiClient;
  /** Default: in memory (nothing survives a restart). */
  store?: SyncStore;
  /** Rows per pull page. */
  pageSize?: number;
  /** After every change of the view (pull, write, push answer, rollback): read `engine.view` again. */
  onChange?: (change: ViewChange) => void;
  /** Answers to pushed writes, as the server gave them. */
  onPushResults?: (results: PushResult[]) => void;
  /** A write the server refused (`rejected`) or could not apply (`conflict`): rolled back, kept in `rejected()`. */
  onRejected?: (entry: RejectedMutation) => void;
  onError?: (error: unknown) => void;
  /** Each revision the live subscription announces (one on every (re)connect, then one per new write). */
  onRevision?: (revision: number) => void;
  /** Waits between reconnection attempts of the live subscription. */
  retryDelayMs?: (attempt: number) => number;
  /** Epoch milliseconds (tests); the time of a write, shown on the rows it changes until confirmed. */
  now?: () => number;
}

export class SyncEngine {
  readonly store: SyncStore;
  /** The rows as the app should show them: the server's, with the writes not yet confirmed on top. */
  readonly view: LocalView;
  private readonly client: ApiClient;
  private readonly now: () => number;
  // The in-memory mirror of the store, loaded once.
  private loaded: Promise<void> | undefined;
  private readonly confirmed = new Map<string, StoredRow>();
  private cursor: number | undefined;
  private queue: QueuedMutation[] = [];
  private refused: RejectedMutation[] = [];
  /** By mutationId, in the order written: queued writes, and applied ones until a pull reaches them. */
  private readonly overlays = new Map<string, Overlay>();
  /** zod and the schemas, loaded on first need (see validate.ts). */
  private validator: Promise<typeof Validate> | undefined;

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
    this.now = options.now ?? Date.now;
    this.view = new LocalView(() => ({ confirmed: this.confirmed, overlays: this.overlays.values() }));
  }

  /** Loads the store, follows the live subscription, pushes what is queued, then pulls; runs until `stop()`. */
  async start(): Promise<void> {
    await this.load();
    this.running = true;
    // Fetched while online, so a write made offline later never waits on the network for its validation.
    this.validation().catch(() => (this.validator = undefined));
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

  /** Reads the store into memory (once; `start` does it). */
  load(): Promise<void> {
    this.loaded ??= (async () => {
      const state = await this.store.load().catch((error: unknown) => {
        this.loaded = undefined; // a failed load is tried again by the next call
        throw error;
      });
      for (const row of state.rows) this.confirmed.set(rowKey(row), row);
      this.cursor = state.cursor;
      this.queue = [...state.pending];
      this.refused = [...state.rejected];
      if (this.queue.length > 0) {
        // A queued write shows as it will apply; one that no longer validates shows nothing (the server will say why).
        const { parseMutation } = await this.validation();
        const at = new Date(this.now());
        for (const mutation of this.queue) {
          const parsed = parseMutation(mutation);
          if (parsed) this.overlays.set(mutation.mutationId, { mutation: parsed, at });
        }
      }
      this.changed({ cause: "load" });
    })();
    return this.loaded;
  }

  /**
   * Validates a write, queues it (durably) and shows it in the view at once; it is pushed when the server is
   * reachable. Returns its mutationId. Throws InvalidMutationError, queueing nothing, if it could never apply.
   */
  async write(mutation: WriteMutation): Promise<string> {
    const queued = { ...mutation, mutationId: mutation.mutationId ?? crypto.randomUUID() };
    const parsed = (await this.validation()).validateMutation(queued);
    await this.load();
    await this.store.enqueue(queued);
    this.queue.push(queued);
    this.overlays.set(queued.mutationId, { mutation: parsed, at: new Date(this.now()) });
    this.changed({ cause: "write", mutationId: queued.mutationId });
    if (this.running) this.flush().catch((error: unknown) => this.options.onError?.(error));
    return queued.mutationId;
  }

  /** The writes not yet answered by the server, oldest first. */
  pending(): readonly QueuedMutation[] {
    return this.queue;
  }

  /** The writes the server refused or could not apply, oldest first, until discarded or retried. */
  rejected(): readonly RejectedMutation[] {
    return this.refused;
  }

  /** Forgets refused writes (the app has shown or resolved them). */
  async discardRejected(mutationIds: string[]): Promise<void> {
    await this.load();
    await this.store.forgetRejected(mutationIds);
    const gone = new Set(mutationIds);
    this.refused = this.refused.filter((entry) => !gone.has(entry.mutation.mutationId));
  }

  /**
   * Queues a refused write again, with `input` if given (e.g. a fresh `baseRev` after a conflict), under a new
   * mutationId (the server answers a known id with its first answer). Returns the new id.
   */
  async retryRejected(mutationId: string, input?: QueuedMutation["input"]): Promise<string> {
    await this.load();
    const entry = this.refused.find((candidate) => candidate.mutation.mutationId === mutationId);
    if (!entry) throw new Error(`No rejected mutation ${mutationId}`);
    const { op, input: previous } = entry.mutation;
    // Queued before the old entry goes: a crash in between leaves both, never neither.
    const id = await this.write({ op, input: input ?? previous } as WriteMutation);
    await this.discardRejected([mutationId]);
    return id;
  }

  /** Pushes the queued writes, in order; on a transport failure they stay queued for the next try. */
  flush(): Promise<void> {
    this.pushing ??= (async () => {
      try {
        await this.load();
        let size = PUSH_BATCH;
        for (;;) {
          const batch = this.queue.slice(0, size);
          if (batch.length === 0) return;
          let results: PushResult[];
          try {
            ({ results } = await this.client.sync.push.mutate({ mutations: batch }));
          } catch (error) {
            // The call itself was refused (an envelope the server cannot read, a body too large): find the
            // mutation at fault by sending one at a time, and set it aside, so it never blocks the queue.
            if (!isRefusedCall(error)) throw error;
            if (batch.length > 1) {
              size = 1;
              continue;
            }
            results = [refusedResult(batch[0]!.mutationId, error)];
          }
          if ((await this.settle(batch, results)) === 0) return;
        }
      } finally {
        this.pushing = undefined;
      }
    })();
    return this.pushing;
  }

  /** Records the server's answers; returns how many of the batch were answered. */
  private async settle(batch: QueuedMutation[], results: PushResult[]): Promise<number> {
    const sent = new Map(batch.map((mutation) => [mutation.mutationId, mutation]));
    const answered: string[] = [];
    const refused: RejectedMutation[] = [];
    const at = this.now();
    for (const result of results) {
      const mutation = sent.get(result.mutationId);
      if (!mutation) continue;
      answered.push(result.mutationId);
      if (result.status !== "applied") refused.push({ mutation, result, at });
    }
    await this.store.settle(answered, refused);

    const done = new Set(answered);
    this.queue = this.queue.filter((mutation) => !done.has(mutation.mutationId));
    this.refused.push(...refused);
    for (const result of results) {
      const overlay = this.overlays.get(result.mutationId);
      if (!overlay || !done.has(result.mutationId)) continue;
      if (result.status !== "applied") this.overlays.delete(result.mutationId);
      else Object.assign(overlay, { appliedRev: result.rev, number: result.number });
    }
    this.dropConfirmedOverlays();
    this.changed({ cause: "push", results, rejected: refused });
    this.options.onPushResults?.(results);
    for (const entry of refused) this.options.onRejected?.(entry);
    return answered.length;
  }

  /** Pulls every change past the cursor; concurrent calls share one run (and one more if asked). */
  pull(): Promise<void> {
    if (this.pulling) {
      this.pullAgain = true;
      return this.pulling;
    }
    this.pulling = (async () => {
      try {
        await this.load();
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
    let since = this.cursor;
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
        this.confirmed.clear();
        this.cursor = undefined;
        this.changed({ cause: "reset" });
        since = undefined;
        snapshot = true;
        continue;
      }
      await this.store.apply(page.changes, page.cursor);
      applyChanges(this.confirmed, page.changes);
      this.cursor = page.cursor;
      const overlaysBefore = this.overlays.size;
      this.dropConfirmedOverlays();
      if (page.changes.length > 0 || this.overlays.size !== overlaysBefore) {
        this.changed({ cause: "pull", changes: page.changes });
      }
      since = page.cursor;
      if (!page.hasMore) return;
    }
  }

  /** Applied writes a pull has reached are in the confirmed rows now: their overlay goes. */
  private dropConfirmedOverlays(): void {
    const cursor = this.cursor ?? -1;
    for (const [mutationId, overlay] of this.overlays) {
      if (overlay.appliedRev !== undefined && overlay.appliedRev <= cursor) this.overlays.delete(mutationId);
    }
  }

  private validation(): Promise<typeof Validate> {
    this.validator ??= import("./validate.ts");
    return this.validator;
  }

  private changed(change: ViewChange): void {
    this.view.invalidate();
    this.options.onChange?.(change);
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

/** A push the server refused as a whole for what it carries (retrying the same request cannot succeed). */
function isRefusedCall(error: unknown): boolean {
  const code = (error as { data?: { code?: unknown } } | undefined)?.data?.code;
  return code === "BAD_REQUEST" || code === "PAYLOAD_TOO_LARGE";
}

function refusedResult(mutationId: string, error: unknown): PushResult {
  const data = (error as { data?: { code?: unknown } }).data;
  const message = error instanceof Error ? error.message : "The server refused this change";
  return { mutationId, status: "rejected", error: { code: String(data?.code), message } };
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
