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

/**
 * The signed-in user of a token, or null when the token is malformed, unknown, expired (idle or
 * absolute) or its user is deactivated. Extends the idle expiry when the last extension is an hour old.
 */
export async function resolveSession(db: PrismaClient, token: string, now: Date): Promise<AuthState | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  const id = sessionIdOf(token);
  // Every authenticated request runs this: one indexed query (by primary key, joined to the user) in
  // plain SQL. The same read through the Prisma client is two queries (session, then user) and most of
  // a request's CPU time (bench/run.ts, settings.get).
  const [row] = await db.$queryRaw<SessionRow[]>`
    SELECT s."expiresAt", s."absoluteExpiresAt", s."lastUsedAt", u.id, u.email, u.username, u."isActive",
           u."emailVerifiedAt"
      FROM "Session" s JOIN "User" u ON u.id = s."userId"
     WHERE s.id = ${id}`;
  if (!row) return null;
  const t = now.getTime();
  if (t >= row.expiresAt.getTime() || t >= row.absoluteExpiresAt.getTime() || !row.isActive) {
    await db.session.deleteMany({ where: { id } });
    return null;
  }
  let expiresAt = row.expiresAt;
  if (t - row.lastUsedAt.getTime() >= SESSION_TOUCH_INTERVAL_MS) {
    expiresAt = new Date(Math.min(t + SESSION_IDLE_MS, row.absoluteExpiresAt.getTime()));
    // updateMany: a concurrent logout may have removed the row, which is not an error here.
    await db.session.updateMany({ where: { id }, data: { expiresAt, lastUsedAt: now } });
  }
  const user = { id: row.id, email: row.email, username: row.username, emailVerified: row.emailVerifiedAt !== null };
  return { user, session: { id, expiresAt } };
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
