// What a provider sign-in leads to: the linked account signs in; a new person gets an account (no password,
// a username derived from the provider's); a verified address that already has an account is linked only once
// its owner proves control (its password, or a link mailed to it); an unverified one never links or creates.
// Plus the one-time code exchange of the app flows, the identities list and unlinking.
import { createHash } from "node:crypto";

import { isUniqueViolation } from "../../lib/db-errors.ts";
import { AppError } from "../../lib/errors.ts";
import type { Tx } from "../../lib/write.ts";
import { pickMailLanguage } from "../../mail/language.ts";
import { renderMail } from "../../mail/templates.ts";
import { verifyPassword } from "../password.ts";
import type { AuthResult } from "../schemas.ts";
import { createUser, type AuthDeps } from "../service.ts";
import { authResult, createSession } from "../session.ts";
import { issueGrant, LINK_MAIL_TTL_MS, peekGrant, useGrant } from "./grants.ts";
import { PROVIDER_NAMES, type ProviderProfile } from "./providers.ts";
import { OAUTH_PROVIDER_IDS, type OAuthExchangeInput, type OAuthLinkInput, type OAuthProviderId } from "./schemas.ts";

/** The `error` a callback sends back to the app. */
export type OAuthFlowError =
  | "access_denied"
  | "invalid_state"
  | "provider_error"
  | "email_unverified"
  | "link_required"
  | "account_disabled"
  | "identity_taken";

export type SignInOutcome =
  { ok: true; userId: string; created: boolean } | { ok: false; error: OAuthFlowError; link?: string };

const userSelect = { id: true, email: true, username: true } as const;

/**
 * Decides what the provider's profile signs in to. With `linkUserId` (a signed-in user linking a provider from
 * settings), links the identity to that user instead. Races (two first sign-ins of one person, a registration
 * taking the address meanwhile) end at a unique index; the decision is then taken again.
 */
export async function resolveProviderSignIn(
  deps: AuthDeps,
  profile: ProviderProfile,
  options: { linkUserId?: string | undefined } = {},
): Promise<SignInOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.db.$transaction((tx) => decide(tx, deps, profile, options.linkUserId));
    } catch (error) {
      if (attempt < 3 && isUniqueViolation(error)) continue;
      throw error;
    }
  }
}

async function decide(
  tx: Tx,
  deps: AuthDeps,
  profile: ProviderProfile,
  linkUserId: string | undefined,
): Promise<SignInOutcome> {
  const now = deps.clock.now();
  const identity = await tx.identity.findUnique({
    where: { provider_providerUserId: { provider: profile.provider, providerUserId: profile.providerUserId } },
    select: { userId: true, user: { select: { isActive: true } } },
  });
  if (linkUserId !== undefined) {
    if (identity) {
      return identity.userId === linkUserId
        ? { ok: true, userId: linkUserId, created: false }
        : refuse("identity_taken");
    }
    const own = await tx.identity.findUnique({
      where: { userId_provider: { userId: linkUserId, provider: profile.provider } },
      select: { id: true },
    });
    if (own) return refuse("identity_taken");
    await linkIdentity(tx, linkUserId, profile, now);
    return { ok: true, userId: linkUserId, created: false };
  }
  if (identity) {
    if (!identity.user.isActive) return refuse("account_disabled");
    return { ok: true, userId: identity.userId, created: false };
  }
  // A new identity: only an address the provider vouches for may create an account or ask to link one.
  if (profile.email === null || !profile.emailVerified) return refuse("email_unverified");
  const existing = await tx.user.findUnique({ where: { email: profile.email }, select: { id: true, isActive: true } });
  if (existing) {
    if (!existing.isActive) return refuse("account_disabled");
    const { value } = await issueGrant(tx, "link", { userId: existing.id, ...pendingIdentity(profile) }, now);
    return { ok: false, error: "link_required", link: value };
  }
  const username = await freeUsername(tx, profile);
  const user = await createUser(tx, {
    email: profile.email,
    username,
    hashedPassword: null,
    emailVerifiedAt: now,
  });
  await linkIdentity(tx, user.id, profile, now);
  return { ok: true, userId: user.id, created: true };
}

const refuse = (error: OAuthFlowError): SignInOutcome => ({ ok: false, error });

const pendingIdentity = (profile: ProviderProfile) => ({
  provider: profile.provider,
  providerUserId: profile.providerUserId,
  email: profile.email,
});

async function linkIdentity(
  tx: Tx,
  userId: string,
  identity: { provider: string; providerUserId: string; email: string | null },
  now: Date,
): Promise<void> {
  await tx.identity.create({
    data: {
      userId,
      provider: identity.provider,
      providerUserId: identity.providerUserId,
      email: identity.email,
      linkedAt: now,
    },
  });
}

/** A username from the provider's (or the address's local part), made valid, and numbered when taken. */
export function usernameBase(profile: Pick<ProviderProfile, "usernameHint" | "email">): string {
  const raw = profile.usernameHint ?? profile.email?.split("@")[0] ?? "";
  const cleaned = raw
    .normalize("NFKD")
    .replace(/[^a-zA-Z0-9_.-]+/g, "")
    .slice(0, 24);
  return cleaned.length >= 3 ? cleaned : `user${cleaned}`.slice(0, 24).padEnd(4, "0");
}

async function freeUsername(tx: Tx, profile: ProviderProfile): Promise<string> {
  const base = usernameBase(profile);
  const candidates = [base, ...Array.from({ length: 8 }, (_, index) => `${base}-${index + 2}`)];
  const taken = await tx.user.findMany({
    where: { usernameKey: { in: candidates.map((name) => name.toLowerCase()) } },
    select: { usernameKey: true },
  });
  const takenKeys = new Set(taken.map((row) => row.usernameKey));
  const free = candidates.find((name) => !takenKeys.has(name.toLowerCase()));
  // Nine taken: a random suffix (a collision still ends at the unique index, and the sign-in is decided again).
  return free ?? `${base}-${crypto.randomUUID().slice(0, 6)}`;
}

/** A new session for `userId` (the callback of a same-site web app signs in with it, as login does). */
export async function signInUser(deps: AuthDeps, userId: string): Promise<AuthResult> {
  return deps.db.$transaction(async (tx) => {
    const user = await tx.user.findUnique({ where: { id: userId }, select: { ...userSelect, isActive: true } });
    if (!user?.isActive) throw new AppError("FORBIDDEN", "This account is deactivated");
    const session = await createSession(tx, user.id, deps.clock.now(), deps.device);
    return authResult(session, user);
  });
}

/** The one-time code of the app flows, bound to the app's PKCE challenge and redirect URI. */
export async function issueSignInCode(
  deps: AuthDeps,
  userId: string,
  app: { codeChallenge: string; redirectUri: string },
): Promise<string> {
  const { value } = await issueGrant(deps.db, "signIn", { userId, ...app }, deps.clock.now());
  return value;
}

const invalidCode = () =>
  new AppError("UNAUTHORIZED", "code: this sign-in code is not valid; sign in with the provider again", {
    reason: "invalidCode",
    field: "code",
  });

/**
 * The code flow's end: the code, used once whatever follows (a wrong verifier burns it), must have been issued
 * for this redirect URI and the challenge of this verifier. One answer for every failure.
 */
export async function exchangeCode(deps: AuthDeps, input: OAuthExchangeInput): Promise<AuthResult> {
  await deps.limits?.attempt("login");
  const now = deps.clock.now();
  const grant = await useGrant(deps.db, "signIn", input.code, now);
  if (!grant) throw invalidCode();
  const challenge = createHash("sha256").update(input.codeVerifier).digest("base64url");
  if (grant.codeChallenge !== challenge || grant.redirectUri !== input.redirectUri) throw invalidCode();
  return signInUser({ ...deps, device: { ...deps.device, deviceName: input.deviceName } }, grant.userId);
}

const invalidLink = () =>
  new AppError("UNAUTHORIZED", "link: this link is not valid or has expired; sign in with the provider again", {
    reason: "invalidLink",
    field: "link",
  });

/** Links the pending identity once the account's password is given; signs in. Failures count like logins. */
export async function linkWithPassword(deps: AuthDeps, input: OAuthLinkInput): Promise<AuthResult> {
  await deps.limits?.attempt("login");
  const now = deps.clock.now();
  const pending = await peekGrant(deps.db, "link", input.link, now);
  if (!pending) throw invalidLink();
  const attempt = await deps.limits?.takeAccountAttempt(`user:${pending.userId}`);
  const user = await deps.db.user.findUnique({ where: { id: pending.userId }, select: { hashedPassword: true } });
  // No password (an account made by another provider): the mailed link is the way to prove control.
  const right = user?.hashedPassword ? await verifyPassword(user.hashedPassword, input.password) : false;
  if (!right) throw new AppError("UNAUTHORIZED", "password: the password is not correct", { field: "password" });
  await attempt?.succeeded();
  return completeLink(deps, "link", input.link, input.deviceName);
}

/** Mails the account's address a link that confirms the pending identity without the password. */
export async function requestLinkMail(deps: AuthDeps, link: string): Promise<void> {
  const mail = deps.mail;
  if (!mail?.enabled) {
    throw new AppError("FORBIDDEN", "This server cannot send mail (no SMTP_URL): link with the password instead", {
      reason: "mailNotConfigured",
    });
  }
  const now = deps.clock.now();
  const pending = await peekGrant(deps.db, "link", link, now);
  if (!pending) throw invalidLink();
  const user = await deps.db.user.findUnique({ where: { id: pending.userId }, select: { email: true } });
  if (!user) throw invalidLink();
  await deps.limits?.attemptMail(user.email);
  const issued = await deps.db.$transaction(async (tx) => {
    const used = await useGrant(tx, "link", link, now);
    if (!used) throw invalidLink();
    const { value } = await issueGrant(
      tx,
      "linkMail",
      {
        userId: used.userId,
        provider: used.provider!,
        providerUserId: used.providerUserId!,
        email: used.email,
      },
      now,
    );
    const settings = await tx.userSettings.findUnique({ where: { userId: used.userId }, select: { language: true } });
    return { value, provider: used.provider as OAuthProviderId, language: settings?.language };
  });
  const providerName = PROVIDER_NAMES[issued.provider] ?? issued.provider;
  mail.later(() =>
    mail.send(
      renderMail(user.email, pickMailLanguage(issued.language, deps.acceptLanguage), {
        kind: "oauthLink",
        // In the fragment, like the other mails: never sent to a server, a proxy's log or a Referer.
        url: `${mail.appUrl}/link-account#token=${issued.value}`,
        validMinutes: LINK_MAIL_TTL_MS / 60_000,
        providerName,
      }),
    ),
  );
}

/** The mailed link's end: links the identity, confirms the address (the mail reached it) and signs in. */
export async function confirmLinkMail(deps: AuthDeps, token: string, deviceName?: string): Promise<AuthResult> {
  return completeLink(deps, "linkMail", token, deviceName, true);
}

async function completeLink(
  deps: AuthDeps,
  kind: "link" | "linkMail",
  value: string,
  deviceName: string | undefined,
  confirmsEmail = false,
): Promise<AuthResult> {
  const now = deps.clock.now();
  try {
    return await deps.db.$transaction(async (tx) => {
      const grant = await useGrant(tx, kind, value, now);
      if (!grant?.provider || !grant.providerUserId) throw invalidLink();
      const user = await tx.user.findUnique({
        where: { id: grant.userId },
        select: { ...userSelect, isActive: true, emailVerifiedAt: true },
      });
      if (!user) throw invalidLink();
      if (!user.isActive) throw new AppError("FORBIDDEN", "This account is deactivated");
      await linkIdentity(
        tx,
        user.id,
        { provider: grant.provider, providerUserId: grant.providerUserId, email: grant.email },
        now,
      );
      if (confirmsEmail && !user.emailVerifiedAt) {
        await tx.user.update({ where: { id: user.id }, data: { emailVerifiedAt: now } });
      }
      const session = await createSession(tx, user.id, now, { ...deps.device, deviceName });
      return authResult(session, user);
    });
  } catch (error) {
    // Linked meanwhile (to this account or another): the link is spent either way.
    if (isUniqueViolation(error)) throw invalidLink();
    throw error;
  }
}

export async function listIdentities(deps: Pick<AuthDeps, "db">, userId: string) {
  const [rows, user] = await Promise.all([
    deps.db.identity.findMany({
      where: { userId },
      orderBy: { linkedAt: "asc" },
      select: { provider: true, email: true, linkedAt: true },
    }),
    deps.db.user.findUnique({ where: { id: userId }, select: { hashedPassword: true } }),
  ]);
  return {
    identities: rows
      .filter((row): row is typeof row & { provider: OAuthProviderId } =>
        (OAUTH_PROVIDER_IDS as readonly string[]).includes(row.provider),
      )
      .map((row) => ({ provider: row.provider, email: row.email, linkedAt: row.linkedAt })),
    hasPassword: user?.hashedPassword != null,
  };
}

/** Unlinks a provider, unless it is the account's last way to sign in (no password, no other identity). */
export async function unlinkIdentity(deps: Pick<AuthDeps, "db">, userId: string, provider: OAuthProviderId) {
  await deps.db.$transaction(async (tx) => {
    // Under the user's row lock: two unlinks at once cannot each leave the other as the last one and both go.
    const [user] = await tx.$queryRaw<{ hashedPassword: string | null }[]>`
      SELECT "hashedPassword" FROM "User" WHERE id = ${userId}::uuid FOR UPDATE`;
    const identities = await tx.identity.findMany({ where: { userId }, select: { provider: true } });
    if (!identities.some((identity) => identity.provider === provider)) {
      throw new AppError("NOT_FOUND", `provider: ${provider} is not linked to this account`, { field: "provider" });
    }
    if (!user?.hashedPassword && identities.length === 1) {
      throw new AppError(
        "PRECONDITION_FAILED",
        "provider: this is the account's only way to sign in; set a password (through the password reset) or link another provider first",
        { reason: "lastSignInMethod", field: "provider" },
      );
    }
    await tx.identity.delete({ where: { userId_provider: { userId, provider } } });
  });
}

/** A short-lived ticket that lets an app start linking a provider for the signed-in user (`link_ticket`). */
export async function issueLinkTicket(deps: Pick<AuthDeps, "db" | "clock">, userId: string) {
  const { value, expiresAt } = await issueGrant(deps.db, "linkStart", { userId }, deps.clock.now());
  return { ticket: value, expiresAt };
}

/** The user a link ticket was issued to, using it; undefined when it is unknown, used or expired. */
export async function useLinkTicket(deps: Pick<AuthDeps, "db" | "clock">, ticket: string): Promise<string | undefined> {
  const grant = await useGrant(deps.db, "linkStart", ticket, deps.clock.now());
  return grant?.userId;
}
