// The revisions a device is told about: the current one on connect, then every newer one, never one twice.
import type { PrismaClient } from "@prompt-booster/db";

import { AppError } from "../lib/errors.ts";
import type { ChangeEvents } from "../lib/events.ts";

export async function* revisionSignals(
  deps: { db: PrismaClient; events: ChangeEvents },
  userId: string,
  signal: AbortSignal | undefined,
): AsyncGenerator<number> {
  let latest = -1;
  let wake: (() => void) | undefined;
  // Listen before reading the current revision, so a write committing in between is not missed.
  const unsubscribe = deps.events.subscribe(userId, (event) => {
    if (event.revision <= latest) return;
    latest = event.revision;
    wake?.();
  });
  const onAbort = () => wake?.();
  signal?.addEventListener("abort", onAbort);
  try {
    const user = await deps.db.user.findUnique({ where: { id: userId }, select: { revision: true } });
    if (!user) throw new AppError("UNAUTHORIZED", "Sign in to continue: the account no longer exists");
    latest = Math.max(latest, user.revision);
    let sent = latest;
    yield sent;
    while (!signal?.aborted) {
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
