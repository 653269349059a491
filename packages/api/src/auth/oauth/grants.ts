// The flows' one-time values (sign-in codes, link tokens, link mails, link tickets): 256 random bits handed
// out once, stored as their SHA-256 only, and used by one UPDATE … RETURNING that matches only an unused,
// unexpired row of the right kind, so two uses of one value cannot both succeed.
import type { OAuthGrantKind } from "@prompt-booster/db";

import type { Tx } from "../../lib/write.ts";
import { accountTokenIdOf, ACCOUNT_TOKEN_PATTERN, generateAccountToken } from "../account-tokens.ts";

/** A transaction or the client itself: each of these is one statement. */
type GrantDb = Pick<Tx, "oAuthGrant">;

export const SIGN_IN_CODE_TTL_MS = 60_000;
export const LINK_TTL_MS = 15 * 60_000;
export const LINK_MAIL_TTL_MS = 30 * 60_000;
export const LINK_TICKET_TTL_MS = 5 * 60_000;

export const GRANT_TTL_MS: Record<OAuthGrantKind, number> = {
  signIn: SIGN_IN_CODE_TTL_MS,
  link: LINK_TTL_MS,
  linkMail: LINK_MAIL_TTL_MS,
  linkStart: LINK_TICKET_TTL_MS,
};

export interface GrantData {
  userId: string;
  codeChallenge?: string;
  redirectUri?: string;
  provider?: string;
  providerUserId?: string;
  email?: string | null;
}

export async function issueGrant(
  tx: GrantDb,
  kind: OAuthGrantKind,
  data: GrantData,
  now: Date,
): Promise<{ value: string; expiresAt: Date }> {
  const { token, id } = generateAccountToken();
  const expiresAt = new Date(now.getTime() + GRANT_TTL_MS[kind]);
  // The user's expired values go as new ones come, so the table holds only live ones and a few dead.
  await tx.oAuthGrant.deleteMany({ where: { userId: data.userId, expiresAt: { lte: now } } });
  await tx.oAuthGrant.create({ data: { id, kind, ...data, createdAt: now, expiresAt } });
  return { value: token, expiresAt };
}

const grantSelect = {
  userId: true,
  codeChallenge: true,
  redirectUri: true,
  provider: true,
  providerUserId: true,
  email: true,
} as const;

/** Uses the value (marks it used) and answers its row, or null when it is unknown, used, expired or of another kind. */
export async function useGrant(tx: GrantDb, kind: OAuthGrantKind, value: string, now: Date) {
  if (!ACCOUNT_TOKEN_PATTERN.test(value)) return null;
  const [used] = await tx.oAuthGrant.updateManyAndReturn({
    where: { id: accountTokenIdOf(value), kind, usedAt: null, expiresAt: { gt: now } },
    data: { usedAt: now },
    select: grantSelect,
  });
  return used ?? null;
}

/** Reads a live value without using it (a link token while its password is checked). */
export async function peekGrant(tx: GrantDb, kind: OAuthGrantKind, value: string, now: Date) {
  if (!ACCOUNT_TOKEN_PATTERN.test(value)) return null;
  return tx.oAuthGrant.findFirst({
    where: { id: accountTokenIdOf(value), kind, usedAt: null, expiresAt: { gt: now } },
    select: grantSelect,
  });
}
