// Change events that reach every server process on the same database: a write publishes a NOTIFY on one
// channel; each process LISTENs once (one connection, not one per device) and fans out in memory by user.
import { randomUUID } from "node:crypto";
import pg from "pg";

import { createLocalChangeEvents, type ChangeEvent, type ChangeEvents } from "@prompt-booster/api";
import type { Database } from "@prompt-booster/db";

export const CHANGES_CHANNEL = "prompt_booster_changes";

export interface DatabaseChangeEvents extends ChangeEvents {
  /** Resolves once this process is listening (the first time). */
  ready: Promise<void>;
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
}

interface Payload {
  u: string;
  r: number;
  /** The publishing process: it has already delivered the event to its own subscribers. */
  o: string;
}

export function createDatabaseChangeEvents(db: Database, options: DatabaseEventsOptions): DatabaseChangeEvents {
  const local = createLocalChangeEvents();
  const origin = randomUUID();
  const { log } = options;

  const onPayload = (text: string | undefined) => {
    const payload = parsePayload(text);
    if (payload && payload.o !== origin) local.emitLocal({ userId: payload.u, revision: payload.r });
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
  };

  const listener =
    db.provider === "pglite"
      ? listenPglite(db, onPayload)
      : listenPostgres(db, onPayload, { log, resync, maxDelayMs: options.maxReconnectDelayMs ?? 5_000 });

  return {
    ready: listener.ready,
    subscribe: local.subscribe,
    publish(event: ChangeEvent) {
      // This process's devices hear at once; the others through the database. NOTIFY is sent only now,
      // after the write committed, so no process can pull before the change is visible.
      local.emitLocal(event);
      const payload = JSON.stringify({ u: event.userId, r: event.revision, o: origin } satisfies Payload);
      db.prisma.$queryRaw`SELECT pg_notify(${CHANGES_CHANNEL}, ${payload})`.catch((error: unknown) =>
        log.warn({ err: error, userId: event.userId }, "could not notify other processes of a change"),
      );
    },
    close: listener.close,
  };
}

function parsePayload(text: string | undefined): Payload | null {
  try {
    const value = JSON.parse(text ?? "") as Partial<Payload>;
    return typeof value.u === "string" && typeof value.r === "number" && typeof value.o === "string"
      ? (value as Payload)
      : null;
  } catch {
    return null;
  }
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
  opts: { log: Logger; resync: () => Promise<void>; maxDelayMs: number },
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
