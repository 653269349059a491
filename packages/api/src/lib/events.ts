import { EventEmitter } from "node:events";

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

/** Changes within this process only. */
export function createLocalChangeEvents(): ChangeEvents & { emitLocal(event: ChangeEvent): void } {
  const emitter = new EventEmitter();
  // One listener per connected device: thousands are expected, not a leak.
  emitter.setMaxListeners(0);
  const emitLocal = (event: ChangeEvent) => emitter.emit(event.userId, event);
  return {
    emitLocal,
    publish: emitLocal,
    subscribe(userId, listener) {
      emitter.on(userId, listener);
      return () => emitter.off(userId, listener);
    },
  };
}
