// Sessions, after the design lucia's author now teaches (lucia-auth.com, built on @oslojs) rather than
// the deprecated `lucia` v3 package: its `Lucia.validateSession` reads the wall clock (no injectable
// clock), stores the token itself as the session id, slides the expiry at half-life instead of at most
// hourly, and has no absolute cap — each of which this project requires. So:
// - the token is 20 random bytes (160 bits) in base32; the database keeps only its SHA-256 (hex) as the
//   session id, so a copy of the table cannot be replayed. The lookup is by that hash, a value an
//   attacker cannot steer, so the index lookup leaks nothing useful about other tokens' timing;
// - expiry slides to 30 days after use, written at most once an hour, and never past 90 days from sign-in.
import { sha256 } from "@oslojs/crypto/sha2";
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from "@oslojs/encoding";

import type { PrismaClient } from "@prompt-booster/db";

import type { AuthState } from "../context.ts";
import type { AuthChange } from "../lib/events.ts";
import type { AuthResult, UserOut } from "./schemas.ts";

export const SESSION_IDLE_MS = 30 * 24 * 3_600_000;
export const SESSION_ABSOLUTE_MS = 90 * 24 * 3_600_000;
/** The sliding expiry (and lastUsedAt) is written at most this often. */
export const SESSION_TOUCH_INTERVAL_MS = 3_600_000;

const TOKEN_BYTES = 20;
const TOKEN_PATTERN = /^[a-z2-7]{32}$/;

export function generateSessionToken(): string {
  return encodeBase32LowerCaseNoPadding(crypto.getRandomValues(new Uint8Array(TOKEN_BYTES)));
}

/** The session id stored for a token. */
export function sessionIdOf(token: string): string {
  return encodeHexLowerCase(sha256(new TextEncoder().encode(token)));
}

export interface DeviceInfo {
  userAgent: string | null;
  ip: string | null;
  deviceName?: string | undefined;
}

export interface SessionOptions extends DeviceInfo {
  /** The absolute cap; a rotated token keeps the one of its sign-in. Default: 90 days from now. */
  absoluteExpiresAt?: Date;
}

export interface NewSession {
  token: string;
  sessionId: string;
  expiresAt: Date;
}

type Db = Pick<PrismaClient, "session">;

export async function createSession(db: Db, userId: string, now: Date, device: SessionOptions): Promise<NewSession> {
  const token = generateSessionToken();
  const sessionId = sessionIdOf(token);
  const absoluteExpiresAt = device.absoluteExpiresAt ?? new Date(now.getTime() + SESSION_ABSOLUTE_MS);
  const expiresAt = new Date(Math.min(now.getTime() + SESSION_IDLE_MS, absoluteExpiresAt.getTime()));
  await db.session.create({
    data: {
      id: sessionId,
      userId,
      expiresAt,
      absoluteExpiresAt,
      createdAt: now,
      lastUsedAt: now,
      userAgent: device.userAgent?.slice(0, 512) ?? null,
      ip: device.ip,
      deviceName: device.deviceName ?? null,
    },
  });
  return { token, sessionId, expiresAt };
}

/** What every sign-in answers: the new session's token and expiry, and who is signed in (nothing more of the user). */
export function authResult(session: NewSession, user: UserOut): AuthResult {
  return {
    token: session.token,
    expiresAt: session.expiresAt,
    user: { id: user.id, email: user.email, username: user.username },
  };
}

/**
 * The signed-in user of a token, or null when the token is malformed, unknown, expired (idle or
 * absolute) or its user is deactivated. Extends the idle expiry when the last extension is an hour old.
 * With a cache, a session validated in the last few seconds is answered from memory (see SessionCache).
 */
export async function resolveSession(
  db: PrismaClient,
  token: string,
  now: Date,
  cache?: SessionCache,
): Promise<AuthState | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  const id = sessionIdOf(token);
  const t = now.getTime();
  const cached = cache?.lookup(id, t);
  if (cached) return cached;
  // Taken before the read: a revocation heard while the read is in flight keeps its answer out of the cache.
  const epoch = cache?.epoch;
  // Every authenticated request runs this: one indexed query (by primary key, joined to the user) in
  // plain SQL. The same read through the Prisma client is two queries (session, then user) and most of
  // a request's CPU time (bench/run.ts, settings.get).
  const [row] = await db.$queryRaw<SessionRow[]>`
    SELECT s."expiresAt", s."absoluteExpiresAt", s."lastUsedAt", u.id, u.email, u.username, u."isActive",
           u."emailVerifiedAt"
      FROM "Session" s JOIN "User" u ON u.id = s."userId"
     WHERE s.id = ${id}`;
  if (!row) return null;
  if (t >= row.expiresAt.getTime() || t >= row.absoluteExpiresAt.getTime() || !row.isActive) {
    await db.session.deleteMany({ where: { id } });
    return null;
  }
  let expiresAt = row.expiresAt;
  let lastUsedAt = row.lastUsedAt;
  let present = true;
  if (t - row.lastUsedAt.getTime() >= SESSION_TOUCH_INTERVAL_MS) {
    expiresAt = new Date(Math.min(t + SESSION_IDLE_MS, row.absoluteExpiresAt.getTime()));
    lastUsedAt = now;
    // updateMany: a concurrent logout may have removed the row, which is not an error here.
    const { count } = await db.session.updateMany({ where: { id }, data: { expiresAt, lastUsedAt: now } });
    present = count > 0;
  }
  const user = { id: row.id, email: row.email, username: row.username, emailVerified: row.emailVerifiedAt !== null };
  if (present && epoch !== undefined) {
    cache!.store(id, { user, expiresAt, absoluteExpiresAt: row.absoluteExpiresAt, lastUsedAt, cachedAt: t }, epoch);
  }
  return { user: { ...user }, session: { id, expiresAt } };
}

export interface SessionCacheOptions {
  /** How long a validated session is answered from memory. Default 5 s. */
  ttlMs?: number;
  /** The most sessions kept; the least recently used go first. Default 10,000. */
  maxEntries?: number;
}

interface CachedSession {
  user: AuthState["user"];
  expiresAt: Date;
  absoluteExpiresAt: Date;
  lastUsedAt: Date;
  /** The request time it was read at (the injected clock's), for the time to live. */
  cachedAt: number;
}

/**
 * Sessions validated in the last few seconds, per process, by session id. Whatever could change an answer
 * makes it forget (`apply`, fed by ChangeEvents.watchAuth): an ended session or a changed user, of this
 * process at once and of the others through the database's NOTIFY (the triggers of the migration
 * session_change_signals fire for any writer). While those signals cannot arrive (the LISTEN connection is
 * down) it answers nothing. It answers only what the database read would: a session whose idle expiry is
 * due, or whose hourly touch is due, is read (and touched) again. The time to live bounds what a
 * signal lost without the connection noticing could cost.
 */
export class SessionCache {
  readonly ttlMs: number;
  readonly maxEntries: number;
  /** Map order is recency: the first entry is the least recently used. */
  private readonly entries = new Map<string, CachedSession>();
  private readonly byUser = new Map<string, Set<string>>();
  private enabled = true;
  private generation = 0;
  /** Answers given from memory and reads that went to the database (tests and metrics). */
  readonly stats = { hits: 0, misses: 0 };

  constructor(options: SessionCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 5_000;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** Changes with every forgetting; a read that started at another epoch is not stored. */
  get epoch(): number {
    return this.generation;
  }

  get size(): number {
    return this.entries.size;
  }

  apply(change: AuthChange): void {
    this.generation += 1;
    if ("all" in change) {
      this.entries.clear();
      this.byUser.clear();
      this.enabled = change.listening;
      return;
    }
    const ids = this.byUser.get(change.userId);
    if (!ids) return;
    this.byUser.delete(change.userId);
    for (const id of ids) this.entries.delete(id);
  }

  lookup(id: string, t: number): AuthState | undefined {
    const entry = this.entries.get(id);
    if (!entry) {
      this.stats.misses += 1;
      return undefined;
    }
    const fresh =
      this.enabled &&
      t >= entry.cachedAt &&
      t - entry.cachedAt < this.ttlMs &&
      t < entry.expiresAt.getTime() &&
      t < entry.absoluteExpiresAt.getTime() &&
      t - entry.lastUsedAt.getTime() < SESSION_TOUCH_INTERVAL_MS;
    if (!fresh) {
      this.remove(id, entry.user.id);
      this.stats.misses += 1;
      return undefined;
    }
    this.entries.delete(id);
    this.entries.set(id, entry);
    this.stats.hits += 1;
    return { user: { ...entry.user }, session: { id, expiresAt: entry.expiresAt } };
  }

  store(id: string, entry: CachedSession, epoch: number): void {
    if (!this.enabled || epoch !== this.generation) return;
    this.entries.delete(id);
    this.entries.set(id, entry);
    let ids = this.byUser.get(entry.user.id);
    if (!ids) this.byUser.set(entry.user.id, (ids = new Set()));
    ids.add(id);
    for (const [oldest, { user }] of this.entries) {
      if (this.entries.size <= this.maxEntries) break;
      this.remove(oldest, user.id);
    }
  }

  private remove(id: string, userId: string): void {
    this.entries.delete(id);
    const ids = this.byUser.get(userId);
    if (ids?.delete(id) && ids.size === 0) this.byUser.delete(userId);
  }
}

export function createSessionCache(options?: SessionCacheOptions): SessionCache {
  return new SessionCache(options);
}

interface SessionRow {
  expiresAt: Date;
  absoluteExpiresAt: Date;
  lastUsedAt: Date;
  id: string;
  email: string;
  username: string;
  isActive: boolean;
  emailVerifiedAt: Date | null;
}
