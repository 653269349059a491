// Change events that reach every server process on the same database: a write publishes a NOTIFY on one
// channel; each process LISTENs once (one connection, not one per device) and fans out in memory by user.
import { randomUUID } from "node:crypto";
import pg from "pg";

import {
  createLocalChangeEvents,
  type AuthChange,
  type ChangeEvent,
  type ChangeEvents,
  type SessionsEnded,
} from "@prompt-booster/api";
import type { Database } from "@prompt-booster/db";

export const CHANGES_CHANNEL = "prompt_booster_changes";

export interface DatabaseChangeEvents extends ChangeEvents {
  /** Resolves once this process is listening (the first time). */
  ready: Promise<void>;
  /** Resolves once the NOTIFY is sent (or its failure logged); never rejects. */
  publish(event: ChangeEvent): Promise<void>;
  publishSessionsEnded(ended: SessionsEnded): Promise<void>;
  publishUserChanged(userId: string): void;
  watchAuth(listener: (change: AuthChange) => void): () => void;
  close(): Promise<void>;
}

interface Logger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface DatabaseEventsOptions {
  log: Logger;
  /** The longest wait between two reconnection attempts of the LISTEN connection. */
  maxReconnectDelayMs?: number;
  /** Open streams per user in this process (see LocalFanOutOptions). */
  maxStreamsPerUser?: number;
  /** Called once for each change event handed to a stream of this process (metrics). */
  onDelivered?: () => void;
}

type WithoutUser<T> = T extends unknown ? Omit<T, "userId"> : never;
type SessionsPart = WithoutUser<SessionsEnded>;

/**
 * Without a session part (`e`) it is a revision, the only kind older processes understand. `a` comes from the
 * database's triggers (origin "db"): a session of the user was deleted or what a session carries changed.
 */
type Payload = {
  u: string;
  /** The publishing process: it has already delivered the event to its own subscribers. */
  o: string;
} & ({ r: number } | { e: SessionsPart } | { a: number });

export function createDatabaseChangeEvents(db: Database, options: DatabaseEventsOptions): DatabaseChangeEvents {
  const local = createLocalChangeEvents({ maxStreamsPerUser: options.maxStreamsPerUser });
  const origin = randomUUID();
  const { log } = options;

  const onPayload = (text: string | undefined) => {
    const payload = parsePayload(text);
    if (!payload || payload.o === origin) return;
    if ("r" in payload) local.emitLocal({ userId: payload.u, revision: payload.r });
    else if ("a" in payload) local.emitAuthChangeLocal({ userId: payload.u });
    else local.emitSessionsEndedLocal({ ...payload.e, userId: payload.u });
  };

  // After a gap in listening, signals may have been missed: tell every subscribed user's devices the
  // current revision, so they pull whatever they missed (a device ignores a revision it already has).
  const resync = async () => {
    const userIds = local.subscribedUserIds();
    if (userIds.length === 0) return;
    const users = await db.prisma.user.findMany({
      where: { id: { in: userIds } },
      select: { id: true, revision: true },
    });
    for (const user of users) local.emitLocal({ userId: user.id, revision: user.revision });
    // Sessions may have ended meanwhile too: every stream here re-checks its own.
    for (const userId of userIds) local.emitSessionsEndedLocal({ userId, allExcept: null });
  };

  // Other processes' signals reach here only while the LISTEN connection is up: a session cache answers only
  // then, and forgets everything whenever it goes down or comes back (what it missed meanwhile is unknown).
  const setListening = (listening: boolean) => local.emitAuthChangeLocal({ all: true, listening });
  const listener =
    db.provider === "pglite"
      ? listenPglite(db, onPayload)
      : (setListening(false),
        listenPostgres(db, onPayload, {
          log,
          resync,
          maxDelayMs: options.maxReconnectDelayMs ?? 5_000,
          onListening: setListening,
        }));

  // $executeRaw: pg_notify returns void, a column type the query path of Prisma's adapters cannot read.
  const notify = (payload: Payload) =>
    db.prisma.$executeRaw`SELECT pg_notify(${CHANGES_CHANNEL}, ${JSON.stringify(payload)})`.then(
      () => undefined,
      (error: unknown) => log.warn({ err: error, userId: payload.u }, "could not notify other processes of a change"),
    );

  // This process's streams hear at once; the others through the database. Both are called only after the
  // commit, so no process can act on a change before it is visible.
  const { onDelivered } = options;
  return {
    ready: listener.ready,
    subscribe: onDelivered
      ? (subscriber) =>
          local.subscribe({
            userId: subscriber.userId,
            sessionId: subscriber.sessionId,
            onChange(event) {
              onDelivered();
              subscriber.onChange(event);
            },
            onSessionsEnded: (ended) => subscriber.onSessionsEnded(ended),
            onEvicted: (limit) => subscriber.onEvicted(limit),
          })
      : (subscriber) => local.subscribe(subscriber),
    publish(event) {
      local.emitLocal(event);
      return notify({ u: event.userId, r: event.revision, o: origin });
    },
    publishSessionsEnded({ userId, ...ended }) {
      local.emitSessionsEndedLocal({ userId, ...ended });
      return notify({ u: userId, e: ended, o: origin });
    },
    publishUserChanged: (userId) => local.publishUserChanged(userId),
    watchAuth: (watcher) => local.watchAuth(watcher),
    close: () => listener.close(),
  };
}

function parsePayload(text: string | undefined): Payload | null {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text ?? "") as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof value.u !== "string" || typeof value.o !== "string") return null;
  if (typeof value.r === "number" || typeof value.a === "number") return value as Payload;
  return isSessionsEnded(value.e) ? (value as Payload) : null;
}

function isSessionsEnded(value: unknown): value is SessionsPart {
  if (typeof value !== "object" || value === null) return false;
  const e = value as Record<string, unknown>;
  if ("revoked" in e) return Array.isArray(e.revoked) && e.revoked.every((id) => typeof id === "string");
  if ("replaced" in e) return typeof e.replaced === "string";
  return "allExcept" in e && (e.allExcept === null || typeof e.allExcept === "string");
}

interface Listener {
  ready: Promise<void>;
  close(): Promise<void>;
}

function listenPglite(db: Database, onPayload: (text: string) => void): Listener {
  const pglite = db.pglite!;
  const unlisten = pglite.listen(CHANGES_CHANNEL, onPayload);
  return {
    ready: unlisten.then(() => undefined),
    async close() {
      const stop = await unlisten;
      if (!pglite.closed) await stop();
    },
  };
}

/** A dedicated connection that LISTENs, and reconnects (with backoff) when the database goes away. */
function listenPostgres(
  db: Database,
  onPayload: (text: string | undefined) => void,
  opts: { log: Logger; resync: () => Promise<void>; maxDelayMs: number; onListening: (listening: boolean) => void },
): Listener {
  let client: pg.Client | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let attempt = 0;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const connect = async () => {
    timer = undefined;
    if (closed) return;
    const next = new pg.Client({ ...db.pgConfig, statement_timeout: undefined });
    client = next;
    // An error or end on this connection means: drop it and connect again.
    let dropped = false;
    const drop = (error?: Error) => {
      if (dropped) return;
      dropped = true;
      next.removeAllListeners("notification");
      next.end().catch(() => {});
      opts.onListening(false);
      if (closed) return;
      opts.log.warn({ err: error }, "change-events connection lost; reconnecting");
      schedule();
    };
    next.on("error", drop);
    next.on("end", () => drop());
    next.on("notification", (message) => {
      if (message.channel === CHANGES_CHANNEL) onPayload(message.payload);
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      drop(error as Error);
      return;
    }
    if (closed) return void next.end().catch(() => {});
    opts.onListening(true);
    if (attempt > 0) {
      opts.log.info({ attempts: attempt }, "change-events connection restored");
      await opts.resync().catch((error: unknown) => opts.log.warn({ err: error }, "re-sync after reconnect failed"));
    }
    attempt = 0;
    markReady();
  };

  const schedule = () => {
    attempt += 1;
    const delay = Math.min(opts.maxDelayMs, 100 * 2 ** Math.min(attempt, 10));
    timer = setTimeout(() => void connect(), delay);
    timer.unref();
  };

  void connect();
  return {
    ready,
    async close() {
      closed = true;
      clearTimeout(timer);
      const current = client;
      client = undefined;
      if (current) {
        current.removeAllListeners("notification");
        await current.end().catch(() => {});
      }
    },
  };
}
