/** A user's data changed: every device of that user should pull past `revision`. */
export interface ChangeEvent {
  userId: string;
  revision: number;
}

/** Sessions of a user that were deleted, published after the commit. */
export type SessionsEnded =
  /** Signed out or revoked: their streams end with UNAUTHORIZED. */
  | { userId: string; revoked: string[] }
  /** The token was rotated: its streams end quietly, and the client reconnects with its new token. */
  | { userId: string; replaced: string }
  /**
   * Every session of the user but `allExcept` (null: every one) was deleted. A stream re-checks its session
   * in the database: one signed in since (on another replica, before this event arrived) keeps its stream.
   */
  | { userId: string; allExcept: string | null };

/**
 * What a cache of signed-in sessions must forget: every cached session of `userId`, or (`all`) every one,
 * when signals from other processes may have been missed; `listening` then says whether they reach this
 * process now (a cache must not answer while they do not).
 */
export type AuthChange = { userId: string } | { all: true; listening: boolean };

/** One open stream (sync.subscribe), opened by one session of one user. */
export interface StreamSubscriber {
  userId: string;
  sessionId: string;
  onChange(event: ChangeEvent): void;
  /** Some sessions of this user ended: the stream decides whether its own is among them. */
  onSessionsEnded(ended: SessionsEnded): void;
  /** Closed to make room for a newer stream of the same user: the user has `limit` open here already. */
  onEvicted(limit: number): void;
}

/**
 * Tells the user's open streams what committed. Services and procedures publish after commit; the sync
 * subscription listens. The server backs it with PostgreSQL LISTEN/NOTIFY to reach other processes.
 */
export interface ChangeEvents {
  /** May return the promise of telling other processes; it never rejects. */
  publish(event: ChangeEvent): void | Promise<void>;
  /** Sessions of a user were deleted: their streams end, in every process. */
  publishSessionsEnded(ended: SessionsEnded): void | Promise<void>;
  /** Returns the unsubscribe function (safe to call twice, and after an eviction). */
  subscribe(subscriber: StreamSubscriber): () => void;
  /**
   * What a session carries (email, username, verification) changed, after the commit: this process's session
   * cache forgets the user's sessions at once (other processes hear it from the database's trigger).
   */
  publishUserChanged?(userId: string): void;
  /**
   * Hears every ended session (publishSessionsEnded) and changed user of this process at once, and those of
   * other processes through the database; called at once with the current listening state. Returns the
   * unsubscribe function. Absent: nothing may be cached.
   */
  watchAuth?(listener: (change: AuthChange) => void): () => void;
}

/** In-process fan-out by user: one map entry per user with connected devices, however many devices. */
export interface LocalFanOut extends ChangeEvents {
  /** Delivers to this process's subscribers only. */
  emitLocal(event: ChangeEvent): void;
  /** Tells this process's streams only. */
  emitSessionsEndedLocal(ended: SessionsEnded): void;
  /** The users that have at least one subscriber here (to re-check after a missed-signal window). */
  subscribedUserIds(): string[];
  publishUserChanged(userId: string): void;
  watchAuth(listener: (change: AuthChange) => void): () => void;
  /** Tells this process's auth watchers only. */
  emitAuthChangeLocal(change: AuthChange): void;
}

export interface LocalFanOutOptions {
  /**
   * Open streams per user in this process; a newer one closes the oldest (a user opening a new tab keeps
   * it, and a stream leaked by a crashed client ends). Across processes the cap is per process. Default: none.
   */
  maxStreamsPerUser?: number;
}

/** Changes within this process only. */
export function createLocalChangeEvents(options: LocalFanOutOptions = {}): LocalFanOut {
  const maxStreams = options.maxStreamsPerUser ?? Infinity;
  // A Set keeps insertion order: its first subscriber is the user's oldest stream.
  const byUser = new Map<string, Set<StreamSubscriber>>();
  const remove = (subscriber: StreamSubscriber) => {
    const set = byUser.get(subscriber.userId);
    if (!set?.delete(subscriber)) return;
    if (set.size === 0) byUser.delete(subscriber.userId);
  };
  const emitLocal = (event: ChangeEvent) => {
    for (const subscriber of byUser.get(event.userId) ?? []) subscriber.onChange(event);
  };
  const authWatchers = new Set<(change: AuthChange) => void>();
  let listening = true;
  const emitAuthChangeLocal = (change: AuthChange) => {
    if ("all" in change) listening = change.listening;
    for (const watcher of authWatchers) watcher(change);
  };
  const emitSessionsEndedLocal = (ended: SessionsEnded) => {
    // Any ended session of the user: the cache forgets all of theirs (cheaper to re-read than to sort out).
    emitAuthChangeLocal({ userId: ended.userId });
    for (const subscriber of byUser.get(ended.userId) ?? []) subscriber.onSessionsEnded(ended);
  };
  return {
    emitLocal,
    emitSessionsEndedLocal,
    publish: emitLocal,
    publishSessionsEnded: emitSessionsEndedLocal,
    subscribedUserIds: () => [...byUser.keys()],
    emitAuthChangeLocal,
    publishUserChanged: (userId) => emitAuthChangeLocal({ userId }),
    watchAuth(watcher) {
      authWatchers.add(watcher);
      watcher({ all: true, listening });
      return () => void authWatchers.delete(watcher);
    },
    subscribe(subscriber) {
      let set = byUser.get(subscriber.userId);
      if (!set) byUser.set(subscriber.userId, (set = new Set()));
      for (const oldest of set) {
        if (set.size < maxStreams) break;
        set.delete(oldest);
        oldest.onEvicted(maxStreams);
      }
      set.add(subscriber);
      return () => remove(subscriber);
    },
  };
}
