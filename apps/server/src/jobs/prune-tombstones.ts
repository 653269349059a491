// Removes sync tombstones older than the retention window, on an interval (and once shortly after start).
import { pruneTombstones, type Clock, type PruneResult } from "@prompt-booster/api";
import type { Database } from "@prompt-booster/db";

interface Logger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface PruneJob {
  /** One pass now (tests, and the timer). */
  run(): Promise<PruneResult>;
  stop(): Promise<void>;
}

export function startTombstonePruning(
  db: Database,
  options: { clock: Clock; retentionMs: number; intervalMs: number; log: Logger },
): PruneJob {
  let running: Promise<PruneResult> | undefined;
  const run = () =>
    (running ??= pruneTombstones(db.prisma, new Date(options.clock.now().getTime() - options.retentionMs))
      .then((result) => {
        if (result.removed > 0) options.log.info({ ...result }, "pruned old sync tombstones");
        return result;
      })
      .finally(() => (running = undefined)));
  const tick = () =>
    void run().catch((error: unknown) => options.log.error({ err: error }, "pruning sync tombstones failed"));

  // 0 turns the timer off (the job can still be run by hand); replicas may all prune: deletes are idempotent.
  const timers =
    options.intervalMs > 0
      ? [setTimeout(tick, Math.min(60_000, options.intervalMs)), setInterval(tick, options.intervalMs)]
      : [];
  for (const timer of timers) timer.unref();

  return {
    run,
    async stop() {
      for (const timer of timers) clearTimeout(timer);
      await running?.catch(() => {});
    },
  };
}
