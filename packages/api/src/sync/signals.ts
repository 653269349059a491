// The revisions a device is told about: the current one on connect, then every newer one, never one twice,
// for as long as the session that opened the stream lives.
import type { PrismaClient } from "@prompt-booster/db";

import { AppError, signInRequired } from "../lib/errors.ts";
import type { ChangeEvents, SessionsEnded } from "../lib/events.ts";

/** Who opened the stream: it ends when this session does. */
export interface StreamOwner {
  userId: string;
  sessionId: string;
}

export async function* revisionSignals(
  deps: { db: PrismaClient; events: ChangeEvents },
  owner: StreamOwner,
  signal: AbortSignal | undefined,
): AsyncGenerator<number> {
  let latest = -1;
  let recheckSession = false;
  // Set when this stream must end: the error to end it with, or null to end it quietly.
  let ending: AppError | null | undefined;
  let wake: (() => void) | undefined;
  // Listen before reading the current revision, so a write committing in between is not missed.
  const unsubscribe = deps.events.subscribe({
    ...owner,
    onChange(event) {
      // Never backwards: whether anything is sent is decided in one place, below (`latest > sent`).
      latest = Math.max(latest, event.revision);
      wake?.();
    },
    onSessionsEnded(ended) {
      const verdict = affects(ended, owner.sessionId);
      if (verdict === "no") return;
      if (verdict === "recheck") recheckSession = true;
      else ending ??= verdict === "revoked" ? sessionEnded() : null;
      wake?.();
    },
    onEvicted(limit) {
      ending ??= new AppError(
        "TOO_MANY_REQUESTS",
        `Too many open streams for this account (at most ${limit}): this one, the oldest, was closed`,
        { reason: "tooManyStreams", limit },
      );
      wake?.();
    },
  });
  const onAbort = () => wake?.();
  signal?.addEventListener("abort", onAbort);
  try {
    const user = await deps.db.user.findUnique({ where: { id: owner.userId }, select: { revision: true } });
    if (!user) throw signInRequired("the account no longer exists");
    latest = Math.max(latest, user.revision);
    let sent = latest;
    yield sent;
    while (!signal?.aborted) {
      if (ending) throw ending;
      if (ending === null) return;
      if (recheckSession) {
        recheckSession = false;
        const session = await deps.db.session.findUnique({ where: { id: owner.sessionId }, select: { id: true } });
        // Gone, but perhaps rotated (its successor's event missed): end quietly, and let the client's
        // reconnect tell a live token from a dead one.
        if (!session) return;
        continue;
      }
      if (latest > sent) {
        sent = latest;
        yield sent;
        continue;
      }
      // Several signals while the device was busy collapse into the latest: it pulls everything anyway.
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    unsubscribe();
    signal?.removeEventListener("abort", onAbort);
  }
}

const sessionEnded = () => signInRequired("this session has ended");

function affects(ended: SessionsEnded, sessionId: string): "no" | "revoked" | "replaced" | "recheck" {
  if ("revoked" in ended) return ended.revoked.includes(sessionId) ? "revoked" : "no";
  if ("replaced" in ended) return ended.replaced === sessionId ? "replaced" : "no";
  return ended.allExcept === sessionId ? "no" : "recheck";
}
