// Single-use tokens mailed to the user: password reset, email verification, email change. Like session
// tokens, only their SHA-256 is stored, so a copy of the table cannot be used; a token is 256 random bits
// (base64url), so guessing one is hopeless and the lookup by hash leaks nothing useful through timing.
import { sha256 } from "@oslojs/crypto/sha2";
import { encodeBase64urlNoPadding, encodeHexLowerCase } from "@oslojs/encoding";

import type { AccountTokenPurpose, Prisma } from "@prompt-booster/db";

import { AppError, type ErrorReason } from "../lib/errors.ts";

export type { AccountTokenPurpose };

export const PASSWORD_RESET_TTL_MS = 30 * 60_000;
export const EMAIL_VERIFICATION_TTL_MS = 24 * 3_600_000;

const TOKEN_BYTES = 32;
/** 32 bytes in base64url without padding. */
export const ACCOUNT_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function generateAccountToken(): { token: string; id: string } {
  const token = encodeBase64urlNoPadding(crypto.getRandomValues(new Uint8Array(TOKEN_BYTES)));
  return { token, id: accountTokenIdOf(token) };
}

export function accountTokenIdOf(token: string): string {
  return encodeHexLowerCase(sha256(new TextEncoder().encode(token)));
}

type Tx = Prisma.TransactionClient;

/**
 * Stores a new token of `purpose` for the user, replacing every earlier one of that purpose (used or not),
 * so that only the latest mail's link works and the table holds at most one row per user and purpose.
 */
export async function issueAccountToken(
  tx: Tx,
  userId: string,
  purpose: AccountTokenPurpose,
  now: Date,
  ttlMs: number,
  newEmail?: string,
): Promise<string> {
  const { token, id } = generateAccountToken();
  // Under the user's row lock, so two requests at once cannot both leave a live token behind.
  await tx.$queryRaw`SELECT 1 FROM "User" WHERE id = ${userId}::uuid FOR UPDATE`;
  await tx.accountToken.deleteMany({ where: { userId, purpose } });
  await tx.accountToken.create({
    data: {
      id,
      userId,
      purpose,
      newEmail: newEmail ?? null,
      createdAt: now,
      expiresAt: new Date(now.getTime() + ttlMs),
    },
  });
  return token;
}

export interface UsedToken {
  id: string;
  userId: string;
  purpose: AccountTokenPurpose;
  newEmail: string | null;
}

/**
 * Marks the token used, in one statement that only matches an unused, unexpired token of one of `purposes`
 * (so two concurrent uses cannot both succeed), or throws BAD_REQUEST saying why the token is refused.
 */
export async function useAccountToken(
  tx: Tx,
  token: string,
  purposes: readonly AccountTokenPurpose[],
  now: Date,
): Promise<UsedToken> {
  if (!ACCOUNT_TOKEN_PATTERN.test(token)) throw tokenRefused("tokenInvalid");
  const id = accountTokenIdOf(token);
  const [used] = await tx.accountToken.updateManyAndReturn({
    where: { id, purpose: { in: [...purposes] }, usedAt: null, expiresAt: { gt: now } },
    data: { usedAt: now },
    select: { id: true, userId: true, purpose: true, newEmail: true },
  });
  if (used) return used;
  const found = await tx.accountToken.findUnique({ where: { id }, select: { purpose: true, usedAt: true } });
  if (!found) throw tokenRefused("tokenInvalid");
  if (!purposes.includes(found.purpose)) throw tokenRefused("tokenWrongPurpose");
  throw tokenRefused(found.usedAt ? "tokenUsed" : "tokenExpired");
}

const refusals: Partial<Record<ErrorReason, string>> = {
  tokenInvalid: "this link is not valid (it may have been replaced by a newer one); ask for a new one",
  tokenExpired: "this link has expired; ask for a new one",
  tokenUsed: "this link has already been used; ask for a new one",
  tokenWrongPurpose: "this link is for another action",
};

function tokenRefused(reason: ErrorReason): AppError {
  return new AppError("BAD_REQUEST", `token: ${refusals[reason]}`, { reason, field: "token" });
}
