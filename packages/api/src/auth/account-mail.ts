// The account flows that go through the user's mailbox: password reset, email verification and email
// change. Each mail's work (issuing its token, rendering, SMTP) runs through MailService.later, after the
// answer: the answer to a reset request is the same, in content and in work done, whether or not the
// address has an account.
import { isUniqueViolation } from "../lib/db-errors.ts";
import { AppError } from "../lib/errors.ts";
import { pickMailLanguage } from "../mail/language.ts";
import type { MailService } from "../mail/mailer.ts";
import { renderMail, type MailContent } from "../mail/templates.ts";
import {
  EMAIL_VERIFICATION_TTL_MS,
  issueAccountToken,
  PASSWORD_RESET_TTL_MS,
  useAccountToken,
  type AccountTokenPurpose,
} from "./account-tokens.ts";
import { hashPassword } from "./password.ts";
import type { AuthResult, ChangeEmailInput, ResetPasswordInput } from "./schemas.ts";
import { confirmPassword, takenError, type AuthDeps, type SignedIn } from "./service.ts";
import { authResult, createSession } from "./session.ts";

/** The server's mail, or FORBIDDEN `mailNotConfigured` when it has none (production without SMTP_URL). */
function mailOf(deps: AuthDeps): MailService {
  if (!deps.mail?.enabled) {
    throw new AppError(
      "FORBIDDEN",
      "This server cannot send mail (no SMTP_URL): password reset and email verification are off",
      { reason: "mailNotConfigured" },
    );
  }
  return deps.mail;
}

/** Issues a token of `purpose` and mails its link, in the language of the user's settings (or the request's). */
async function mailToken(
  deps: AuthDeps,
  mail: MailService,
  user: { id: string; email: string },
  purpose: AccountTokenPurpose,
  { newEmail, justRegistered = false }: { newEmail?: string; justRegistered?: boolean } = {},
): Promise<void> {
  const now = deps.clock.now();
  const ttlMs = purpose === "passwordReset" ? PASSWORD_RESET_TTL_MS : EMAIL_VERIFICATION_TTL_MS;
  const [token, settings] = await deps.db.$transaction(async (tx) => [
    await issueAccountToken(tx, user.id, purpose, now, ttlMs, newEmail),
    await tx.userSettings.findUnique({ where: { userId: user.id }, select: { language: true } }),
  ]);
  // Just registered, the settings hold the default language, not a choice: the browser's header says more.
  const language = justRegistered
    ? pickMailLanguage(null, deps.acceptLanguage)
    : pickMailLanguage(settings?.language, deps.acceptLanguage);
  // The token travels in the fragment: browsers never send it to a server, a proxy's log or a Referer.
  const page = purpose === "passwordReset" ? "reset-password" : "verify-email";
  const url = `${mail.appUrl}/${page}#token=${token}`;
  const validHours = EMAIL_VERIFICATION_TTL_MS / 3_600_000;
  const content: MailContent =
    purpose === "passwordReset"
      ? { kind: "passwordReset", url, validMinutes: PASSWORD_RESET_TTL_MS / 60_000 }
      : purpose === "emailChange"
        ? { kind: "emailChangeVerify", url, validHours, newEmail: newEmail! }
        : { kind: "verifyEmail", url, validHours };
  await mail.send(renderMail(newEmail ?? user.email, language, content));
  if (purpose === "emailChange") {
    await mail.send(renderMail(user.email, language, { kind: "emailChangeNotice", newEmail: newEmail! }));
  }
}

/** After registration: the verification mail, when the server can send mail. */
export function mailVerificationAfterRegister(deps: AuthDeps, user: { id: string; email: string }): void {
  const mail = deps.mail;
  if (mail?.enabled) mail.later(() => mailToken(deps, mail, user, "emailVerification", { justRegistered: true }));
}

/**
 * Mails a reset link when `email` belongs to an active account; answers the same either way. Both cases do
 * the same work before answering (the rate limits, one indexed read); the mail's own work runs after.
 */
export async function requestPasswordReset(deps: AuthDeps, email: string): Promise<void> {
  const mail = mailOf(deps);
  await deps.limits?.attemptMail(email);
  const user = await deps.db.user.findUnique({ where: { email }, select: { id: true, email: true, isActive: true } });
  if (user?.isActive) mail.later(() => mailToken(deps, mail, user, "passwordReset"));
}

/**
 * Sets the password of the token's account, ends every session of it and signs in anew. Following the
 * link proves the mailbox, so an unconfirmed email counts as confirmed from then on.
 */
export async function resetPassword(
  deps: AuthDeps,
  input: ResetPasswordInput,
): Promise<{ result: AuthResult; sessionId: string }> {
  await deps.limits?.attempt("accountToken");
  // The slow part, before the transaction: a transaction must not wait on argon2.
  const hashedPassword = await hashPassword(input.newPassword);
  return deps.db.$transaction(async (tx) => {
    const now = deps.clock.now();
    const used = await useAccountToken(tx, input.token, ["passwordReset"], now);
    const user = await tx.user.findUniqueOrThrow({
      where: { id: used.userId },
      select: { id: true, email: true, username: true, isActive: true, emailVerifiedAt: true },
    });
    if (!user.isActive) throw new AppError("FORBIDDEN", "This account is deactivated");
    await tx.user.update({
      where: { id: user.id },
      data: { hashedPassword, emailVerifiedAt: user.emailVerifiedAt ?? now },
    });
    await tx.session.deleteMany({ where: { userId: user.id } });
    const session = await createSession(tx, user.id, now, deps.device);
    return {
      result: authResult(session, user),
      sessionId: session.sessionId,
    };
  });
}

/**
 * Uses a verification or email-change token: confirms the email, or moves the account to the new address
 * (confirmed by this very link) and drops the links mailed to the old one.
 */
export async function verifyEmail(deps: AuthDeps, token: string): Promise<{ email: string }> {
  await deps.limits?.attempt("accountToken");
  try {
    const { userId, email } = await deps.db.$transaction(async (tx) => {
      const now = deps.clock.now();
      const used = await useAccountToken(tx, token, ["emailVerification", "emailChange"], now);
      if (used.purpose === "emailVerification") {
        const user = await tx.user.update({
          where: { id: used.userId },
          data: { emailVerifiedAt: now },
          select: { id: true, email: true },
        });
        return { userId: user.id, email: user.email };
      }
      const user = await tx.user.update({
        where: { id: used.userId },
        data: { email: used.newEmail!, emailVerifiedAt: now },
        select: { id: true, email: true },
      });
      await tx.accountToken.deleteMany({
        where: { userId: used.userId, id: { not: used.id }, purpose: { in: ["passwordReset", "emailVerification"] } },
      });
      return { userId: user.id, email: user.email };
    });
    // Sessions cached in memory carry the email and its verification: this process forgets them at once
    // (the others hear the database's trigger).
    deps.events.publishUserChanged?.(userId);
    return { email };
  } catch (error) {
    // Another account took the address between the request and the confirmation.
    if (isUniqueViolation(error)) throw takenError("email");
    throw error;
  }
}

/** Mails a new verification link to the signed-in user; the earlier link stops working. */
export async function resendVerification(deps: AuthDeps, userId: string): Promise<void> {
  const mail = mailOf(deps);
  const user = await deps.db.user.findUniqueOrThrow({
    where: { id: userId },
    select: { id: true, email: true, emailVerifiedAt: true },
  });
  if (user.emailVerifiedAt) {
    throw new AppError("BAD_REQUEST", "Your email address is already confirmed", { reason: "alreadyVerified" });
  }
  await deps.limits?.attemptMail(user.email);
  mail.later(() => mailToken(deps, mail, user, "emailVerification"));
}

/**
 * Asks to move the account to `newEmail`: mails a confirmation link there and a notice to the current
 * address. Nothing changes until the link is used (auth.verifyEmail).
 */
export async function changeEmail(deps: AuthDeps, current: SignedIn, input: ChangeEmailInput): Promise<void> {
  const mail = mailOf(deps);
  await confirmPassword(deps, current.userId, input.password, "password");
  const user = await deps.db.user.findUniqueOrThrow({
    where: { id: current.userId },
    select: { id: true, email: true },
  });
  if (user.email === input.newEmail) {
    throw new AppError("BAD_REQUEST", "newEmail: this is already your email address", {
      reason: "sameEmail",
      field: "newEmail",
    });
  }
  // Registration already tells whether an address is taken; saying it here tells no more.
  const taken = await deps.db.user.findUnique({ where: { email: input.newEmail }, select: { id: true } });
  if (taken) throw takenError("newEmail");
  await deps.limits?.attemptMail(input.newEmail);
  mail.later(() => mailToken(deps, mail, user, "emailChange", { newEmail: input.newEmail }));
}

export interface AuthProviders {
  password: true;
  passwordReset: boolean;
  emailVerification: boolean;
  emailVerificationRequired: boolean;
}

/** Which sign-in and mail features this server has on, for the apps to show or hide them. */
export function providers(mail: MailService | undefined, requireEmailVerification: boolean): AuthProviders {
  const mailOn = mail?.enabled === true;
  return {
    password: true,
    passwordReset: mailOn,
    emailVerification: mailOn,
    emailVerificationRequired: requireEmailVerification,
  };
}
