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
async function lockUserRevision(tx: Tx, userId: string): Promise<number> {
  const rows = await tx.$queryRaw<{ revision: number }[]>`
    SELECT revision FROM "User" WHERE id = ${userId}::uuid FOR NO KEY UPDATE`;
  const row = rows[0];
  if (!row) throw new Error(`lockUserRevision: no user ${userId}`);
  return row.revision;
}

/** The user's revision counter inside one write's transaction, under the user's row lock. */
export interface UserRevisions {
  /** The user's revision now: the last one handed out, by this write or before it. */
  readonly current: number;
  /** Takes `count` (at least 1) consecutive revisions; returns the first. */
  take(count: number): Promise<number>;
}

class RevisionCounter implements UserRevisions {
  /** The first revision this write took; null while it took none. */
  first: number | null = null;

  constructor(
    private readonly tx: Tx,
    private readonly userId: string,
    public current: number,
  ) {}

  async take(count: number): Promise<number> {
    if (!Number.isInteger(count) || count < 1) throw new Error(`take: ${count} is not a count of revisions`);
    const first = await takeRevisions(this.tx, this.userId, count);
    this.first ??= first;
    this.current = first + count - 1;
    return first;
  }
}

/**
 * The one way a user's synced data is written: a transaction under the user's row lock, `work`, then
 * `deps.record` if set (only when revisions were taken: a write that took none changed nothing to record
 * with); after commit, the user's devices hear of the last revision taken. Returns the work's result and
 * the user's revision when it committed.
 */
async function writeUnderLock<T>(
  deps: WriteDeps,
  userId: string,
  lock: (tx: Tx) => Promise<RevisionCounter>,
  work: (tx: Tx, revisions: RevisionCounter) => Promise<T>,
): Promise<{ result: T; revision: number }> {
  const { result, revisions } = await deps.db.$transaction(async (tx) => {
    const revisions = await lock(tx);
    const result = await work(tx, revisions);
    if (revisions.first !== null) await deps.record?.(tx, revisions.first, result);
    return { result, revisions };
  });
  // Not awaited: the answer need not wait for other processes to hear (publish never rejects).
  if (revisions.first !== null) void deps.events.publish({ userId, revision: revisions.current });
  return { result, revision: revisions.current };
}

/**
 * One write of a user's synced data: a transaction that takes the next revision first (which locks the
 * user's row), then runs `work` with it, then `deps.record` if set; after commit, the user's devices hear
 * of the new revision.
 */
export async function userWrite<T>(
  deps: WriteDeps,
  userId: string,
  work: (tx: Tx, rev: number) => Promise<T>,
): Promise<T> {
  const taken = async (tx: Tx) => {
    const revisions = new RevisionCounter(tx, userId, 0);
    await revisions.take(1);
    return revisions;
  };
  return (await writeUnderLock(deps, userId, taken, (tx, revisions) => work(tx, revisions.current))).result;
}

/**
 * A write that looks before it knows how many revisions it needs (import's batches): `work` runs under the
 * user's row lock, so what it reads stays true until it commits, and takes exactly the revisions it needs
 * (none: nothing is published). Returns the work's result and the user's revision when it committed.
 */
export function userWriteBatch<T>(
  deps: WriteDeps,
  userId: string,
  work: (tx: Tx, revisions: UserRevisions) => Promise<T>,
): Promise<{ result: T; revision: number }> {
  const locked = async (tx: Tx) => new RevisionCounter(tx, userId, await lockUserRevision(tx, userId));
  return writeUnderLock(deps, userId, locked, work);
}
