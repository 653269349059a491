/** A user's data changed: every device of that user should pull past `revision`. */
export interface ChangeEvent {
  userId: string;
  revision: number;
}

/**
 * Tells the user's connected devices that a write committed. Services publish after commit; the sync
 * subscription listens. The server may back it with PostgreSQL LISTEN/NOTIFY to reach other processes.
 */
export interface ChangeEvents {
  publish(event: ChangeEvent): void;
  /** Returns the unsubscribe function. */
  subscribe(userId: string, listener: (event: ChangeEvent) => void): () => void;
}

/** In-process fan-out by user: one map entry per user with connected devices, however many devices. */
export interface LocalFanOut extends ChangeEvents {
  /** Delivers to this process's subscribers only. */
  emitLocal(event: ChangeEvent): void;
  /** The users that have at least one subscriber here (to re-check after a missed-signal window). */
  subscribedUserIds(): string[];
}

/** Changes within this process only. */
export function createLocalChangeEvents(): LocalFanOut {
  const listeners = new Map<string, Set<(event: ChangeEvent) => void>>();
  const emitLocal = (event: ChangeEvent) => {
    for (const listener of listeners.get(event.userId) ?? []) listener(event);
  };
  return {
    emitLocal,
    publish: emitLocal,
    subscribedUserIds: () => [...listeners.keys()],
    subscribe(userId, listener) {
      let set = listeners.get(userId);
      if (!set) listeners.set(userId, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0 && listeners.get(userId) === set) listeners.delete(userId);
      };
    },
  };
}
