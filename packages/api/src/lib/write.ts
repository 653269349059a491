import type { PrismaClient, Prisma } from "@prompt-booster/db";

import type { ChangeEvents } from "./events.ts";

export type Tx = Prisma.TransactionClient;

export interface WriteDeps {
  db: PrismaClient;
  events: ChangeEvents;
  /**
   * Run inside the write's transaction, after its work, with the revision taken and the work's result: lets
   * a caller above the services (sync.push's ledger) commit a row of its own with the change, or make the
   * change fail. Services pass their deps on untouched and never set it, so they stay unaware of sync.
   */
  record?: ((tx: Tx, rev: number, result: unknown) => Promise<void>) | undefined;
}

/**
 * Takes `count` consecutive revisions of the user's counter. The UPDATE locks the user's row until the
 * transaction ends, so one user's writes commit in revision order and a pull can never skip one.
 * Returns the first of the revisions taken.
 */
export async function takeRevisions(tx: Tx, userId: string, count = 1): Promise<number> {
  const { revision } = await tx.user.update({
    where: { id: userId },
    data: { revision: { increment: count } },
    select: { revision: true },
  });
  return revision - count + 1;
}

/**
 * Locks the user's row, as `takeRevisions` does, without taking a revision; returns the last revision
 * handed out. For a write that must look before it knows how many revisions it needs: everything it
 * reads afterwards includes every committed write of this user, and no other write of theirs can start
 * until this transaction ends. (NO KEY UPDATE is the lock an UPDATE of the counter takes; it does not
 * block inserts that merely reference the user, such as a new session.)
 */
export async function lockUserRevision(tx: Tx, userId: string): Promise<number> {
  const rows = await tx.$queryRaw<{ revision: number }[]>`
    SELECT revision FROM "User" WHERE id = ${userId}::uuid FOR NO KEY UPDATE`;
  const row = rows[0];
  if (!row) throw new Error(`lockUserRevision: no user ${userId}`);
  return row.revision;
}

/**
 * One write of a user's synced data: a transaction that takes the next revision first (under the
 * user's row lock), then runs `work`, then `deps.record` if set; after commit, the user's devices hear of
 * the new revision.
 */
export async function userWrite<T>(
  deps: WriteDeps,
  userId: string,
  work: (tx: Tx, rev: number) => Promise<T>,
): Promise<T> {
  const { result, revision } = await deps.db.$transaction(async (tx) => {
    const revision = await takeRevisions(tx, userId);
    const result = await work(tx, revision);
    await deps.record?.(tx, revision, result);
    return { result, revision };
  });
  // Not awaited: the answer need not wait for other processes to hear (publish never rejects).
  void deps.events.publish({ userId, revision });
  return result;
}
