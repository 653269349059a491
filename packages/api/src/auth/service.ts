// Account and session services: plain arguments in, plain data out, AppError for every refusal.
import type { AuthRateLimits } from "../context.ts";
import type { MailService } from "../mail/mailer.ts";
import { isUniqueViolation } from "../lib/db-errors.ts";
import { AppError, signInRequired } from "../lib/errors.ts";
import type { ServiceDeps } from "../lib/service.ts";
import { takeRevisions, type Tx } from "../lib/write.ts";
import { DEFAULT_SETTINGS } from "../settings/merge.ts";
import { hashPassword, needsRehash, verifyDummyPassword, verifyPassword } from "./password.ts";
import type { AuthResult, ChangePasswordInput, LoginInput, RegisterInput } from "./schemas.ts";
import { authResult, createSession, type DeviceInfo } from "./session.ts";

/** A domain service's deps, plus the requesting device (for new sessions) and the auth rate limits. */
export interface AuthDeps extends ServiceDeps {
  device: DeviceInfo;
  /** Absent for in-process callers, which are not rate limited. */
  limits?: AuthRateLimits | undefined;
  /** The account mails; absent or disabled, the flows that send mail answer "mailNotConfigured". */
  mail?: MailService | undefined;
  /** The request's Accept-Language: a mail's language when the user's settings name none. */
  acceptLanguage?: string | null | undefined;
}

const userSelect = { id: true, email: true, username: true } as const;

/** The signed-in user and the session of the request, as plain ids. */
export interface SignedIn {
  userId: string;
  sessionId: string;
}

/** The one answer for an unknown account and a wrong password, so neither reveals which it was. */
const badCredentials = () => new AppError("UNAUTHORIZED", "Wrong email, username or password");

export async function register(deps: AuthDeps, input: RegisterInput): Promise<AuthResult> {
  await deps.limits?.attempt("register");
  const usernameKey = input.username.toLowerCase();
  // Hash first: it is the slow part and must not hold a transaction open.
  const hashedPassword = await hashPassword(input.password);
  try {
    return await deps.db.$transaction(async (tx) => {
      const taken = await tx.user.findFirst({
        where: { OR: [{ email: input.email }, { usernameKey }] },
        select: { email: true },
      });
      if (taken) throw takenError(taken.email === input.email ? "email" : "username");
      const user = await createUser(tx, { email: input.email, username: input.username, hashedPassword });
      const session = await createSession(tx, user.id, deps.clock.now(), deps.device);
      return authResult(session, user);
    });
  } catch (error) {
    // Two registrations racing for one email or username: the unique index decides.
    if (isUniqueViolation(error)) {
      // Prisma names the violated index's fields in `meta.target` (an array, or the index name).
      const target = (error as { meta?: { target?: unknown } }).meta?.target;
      throw takenError(JSON.stringify(target ?? "").includes("email") ? "email" : "username");
    }
    throw error;
  }
}

/**
 * Creates a user and their settings row (the defaults, at the user's first revision, with the user's id as
 * the row's: the id settings.get answers for a missing row), so that reading the settings never writes and
 * the first sync.pull sees the row. Inside the caller's transaction.
 */
export async function createUser(
  tx: Tx,
  data: { email: string; username: string; hashedPassword: string | null; emailVerifiedAt?: Date },
): Promise<AuthResult["user"]> {
  const user = await tx.user.create({
    data: { ...data, usernameKey: data.username.toLowerCase() },
    select: userSelect,
  });
  const rev = await takeRevisions(tx, user.id);
  await tx.userSettings.create({ data: { id: user.id, userId: user.id, ...DEFAULT_SETTINGS, rev } });
  return user;
}

export function takenError(field: "email" | "username" | "newEmail"): AppError {
  const what = field === "username" ? "username" : "email";
  return new AppError("CONFLICT", `${field}: this ${what} is already taken`, { field });
}

export async function login(deps: AuthDeps, input: LoginInput): Promise<AuthResult> {
  await deps.limits?.attempt("login");
  const identifier = input.email ?? input.username!.toLowerCase();
  const user = await deps.db.user.findUnique({
    where: input.email !== undefined ? { email: input.email } : { usernameKey: identifier },
    select: { ...userSelect, hashedPassword: true, isActive: true },
  });
  // Failed logins count against the account (by id, so email and username share one budget).
  const accountKey = user ? `user:${user.id}` : `unknown:${identifier}`;
  const attempt = await deps.limits?.takeAccountAttempt(accountKey);
  if (!user) {
    await verifyDummyPassword(input.password);
    throw badCredentials();
  }
  // An account made by a provider sign-in has no password until one is set through the reset flow.
  if (user.hashedPassword === null) {
    await verifyDummyPassword(input.password);
    throw badCredentials();
  }
  if (!(await verifyPassword(user.hashedPassword, input.password))) throw badCredentials();
  await attempt?.succeeded();
  // Only someone who knows the password learns that the account exists but is switched off.
  if (!user.isActive) throw new AppError("FORBIDDEN", "This account is deactivated");
  if (needsRehash(user.hashedPassword)) {
    await deps.db.user.update({
      where: { id: user.id },
      data: { hashedPassword: await hashPassword(input.password) },
    });
  }
  const session = await createSession(deps.db, user.id, deps.clock.now(), deps.device);
  return authResult(session, user);
}

/** A new token for the same sign-in; the old one dies. The absolute cap of the sign-in carries over. */
export async function refreshToken(
  deps: AuthDeps,
  current: SignedIn & { user: AuthResult["user"] },
  deviceName?: string,
): Promise<AuthResult> {
  await deps.limits?.attempt("refresh");
  return deps.db.$transaction(async (tx) => {
    const old = await tx.session.findUnique({
      where: { id: current.sessionId },
      select: { absoluteExpiresAt: true, deviceName: true },
    });
    // A concurrent logout or refresh got here first: this token is already dead.
    const deleted = await tx.session.deleteMany({ where: { id: current.sessionId } });
    if (!old || deleted.count === 0) throw signInRequired();
    const session = await createSession(tx, current.userId, deps.clock.now(), {
      ...deps.device,
      deviceName: deviceName ?? old.deviceName ?? undefined,
      absoluteExpiresAt: old.absoluteExpiresAt,
    });
    return authResult(session, current.user);
  });
}

export async function me(deps: ServiceDeps, userId: string) {
  const user = await deps.db.user.findUnique({
    where: { id: userId },
    select: { ...userSelect, createdAt: true, emailVerifiedAt: true },
  });
  if (!user) throw signInRequired();
  return user;
}

export async function logout(deps: ServiceDeps, sessionId: string): Promise<void> {
  await deps.db.session.deleteMany({ where: { id: sessionId } });
}

export async function logoutAll(deps: ServiceDeps, userId: string): Promise<number> {
  const { count } = await deps.db.session.deleteMany({ where: { userId } });
  return count;
}

const MAX_LISTED_SESSIONS = 100;

export async function listSessions(deps: ServiceDeps, current: SignedIn) {
  const now = deps.clock.now();
  const rows = await deps.db.session.findMany({
    where: { userId: current.userId, expiresAt: { gt: now }, absoluteExpiresAt: { gt: now } },
    orderBy: [{ lastUsedAt: "desc" }, { id: "asc" }],
    take: MAX_LISTED_SESSIONS,
    select: {
      id: true,
      createdAt: true,
      lastUsedAt: true,
      expiresAt: true,
      userAgent: true,
      ip: true,
      deviceName: true,
    },
  });
  return rows.map((row) => ({ ...row, current: row.id === current.sessionId }));
}

/** Revokes one of the user's own sessions; another user's session id is NOT_FOUND, as is an unknown one. */
export async function revokeSession(deps: ServiceDeps, userId: string, sessionId: string): Promise<void> {
  const { count } = await deps.db.session.deleteMany({ where: { id: sessionId, userId } });
  if (count === 0) throw new AppError("NOT_FOUND", "sessionId: no such session");
}

/**
 * Checks the signed-in user's password again (for sensitive changes: here, and the vault's reset), counting
 * failures like logins.
 */
export async function confirmPassword(
  deps: Pick<AuthDeps, "db" | "limits">,
  userId: string,
  password: string,
  field: string,
): Promise<string> {
  const user = await deps.db.user.findUnique({ where: { id: userId }, select: { hashedPassword: true } });
  if (!user) throw signInRequired();
  if (user.hashedPassword === null) throw noPasswordError(field);
  const attempt = await deps.limits?.takeAccountAttempt(`user:${userId}`);
  if (!(await verifyPassword(user.hashedPassword, password))) {
    throw new AppError("FORBIDDEN", `${field}: the password is not correct`, { field });
  }
  await attempt?.succeeded();
  return user.hashedPassword;
}

/** An account made by a provider sign-in, asked for a password it does not have. */
export function noPasswordError(field: string): AppError {
  return new AppError(
    "PRECONDITION_FAILED",
    `${field}: this account has no password yet (it signs in with a provider); set one through the password reset first`,
    { reason: "noPassword", field },
  );
}

/** Sets a new password and ends every other session of the user; the current one stays signed in. */
export async function changePassword(deps: AuthDeps, current: SignedIn, input: ChangePasswordInput): Promise<number> {
  await confirmPassword(deps, current.userId, input.currentPassword, "currentPassword");
  const hashedPassword = await hashPassword(input.newPassword);
  return deps.db.$transaction(async (tx) => {
    await tx.user.update({ where: { id: current.userId }, data: { hashedPassword } });
    const { count } = await tx.session.deleteMany({
      where: { userId: current.userId, id: { not: current.sessionId } },
    });
    return count;
  });
}

/** Removes the user and, by cascade, every row they own: sessions, settings, templates, prompt history. */
export async function deleteAccount(deps: AuthDeps, userId: string, password: string): Promise<void> {
  await confirmPassword(deps, userId, password, "password");
  await deps.db.user.delete({ where: { id: userId } });
}
