import { z } from "zod";

import { isCommonPassword } from "./common-passwords.ts";

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

/** Trimmed and lower-cased, so that one mailbox is one account whatever its spelling. */
export const zEmail = z
  .string()
  .trim()
  .max(254, "must be at most 254 characters")
  .toLowerCase()
  .pipe(z.email("must be a valid email address"));

export const zUsername = z
  .string()
  .trim()
  .min(3, "must be at least 3 characters")
  .max(32, "must be at most 32 characters")
  .regex(/^[a-zA-Z0-9_.-]+$/, "may contain only letters, digits, '_', '.' and '-'");

/** A new password: the length policy and not one of the 10,000 most common. */
export const zNewPassword = z
  .string()
  .min(PASSWORD_MIN, `must be at least ${PASSWORD_MIN} characters`)
  .max(PASSWORD_MAX, `must be at most ${PASSWORD_MAX} characters`)
  .refine((password) => !isCommonPassword(password), "is one of the 10,000 most common passwords; choose another");

/** A password being checked: bounded, so nobody makes the server hash a megabyte. */
export const zGivenPassword = z
  .string()
  .min(1, "is required")
  .max(PASSWORD_MAX, `must be at most ${PASSWORD_MAX} characters`);

export const zDeviceName = z.string().trim().min(1).max(100, "must be at most 100 characters").optional();

export const zRegisterInput = z.object({
  email: zEmail,
  username: zUsername,
  password: zNewPassword,
  deviceName: zDeviceName,
});
export type RegisterInput = z.infer<typeof zRegisterInput>;

export const zLoginInput = z
  .object({
    email: zEmail.optional(),
    username: z.string().trim().min(1).max(32, "must be at most 32 characters").optional(),
    password: zGivenPassword,
    deviceName: zDeviceName,
  })
  .refine((input) => (input.email === undefined) !== (input.username === undefined), {
    message: "give either your email or your username",
    path: ["email"],
  });
export type LoginInput = z.infer<typeof zLoginInput>;

export const zRefreshTokenInput = z.object({ deviceName: zDeviceName }).optional();

export const zChangePasswordInput = z.object({
  currentPassword: zGivenPassword,
  newPassword: zNewPassword,
});
export type ChangePasswordInput = z.infer<typeof zChangePasswordInput>;

export const zDeleteAccountInput = z.object({ password: zGivenPassword });

export const zRevokeSessionInput = z.object({
  /** The `id` from sessions.list. */
  sessionId: z.string().regex(/^[0-9a-f]{64}$/, "must be a session id from sessions.list"),
});

export const zUserOut = z.object({ id: z.string(), email: z.string(), username: z.string() });
export type UserOut = z.infer<typeof zUserOut>;

export const zAuthResultOut = z.object({
  /** Send as `Authorization: Bearer <token>`; browsers get it in the session cookie as well. */
  token: z.string(),
  expiresAt: z.date(),
  user: zUserOut,
});
export type AuthResult = z.infer<typeof zAuthResultOut>;

export const zMeOut = z.object({
  /** `emailVerifiedAt`: when the user confirmed their email; null until they do. */
  user: zUserOut.extend({ createdAt: z.date(), emailVerifiedAt: z.date().nullable() }),
  session: z.object({ id: z.string(), expiresAt: z.date() }),
});

export const zSessionOut = z.object({
  id: z.string(),
  current: z.boolean(),
  createdAt: z.date(),
  lastUsedAt: z.date(),
  expiresAt: z.date(),
  userAgent: z.string().nullable(),
  ip: z.string().nullable(),
  deviceName: z.string().nullable(),
});

/** A token from a mailed link (the `token` of its `#token=…` fragment). Its format is checked by the service. */
const zMailedToken = z.string().trim().min(1, "is required").max(200, "must be at most 200 characters");

export const zRequestPasswordResetInput = z.object({ email: zEmail });

export const zResetPasswordInput = z.object({ token: zMailedToken, newPassword: zNewPassword });
export type ResetPasswordInput = z.infer<typeof zResetPasswordInput>;

export const zVerifyEmailInput = z.object({ token: zMailedToken });

export const zChangeEmailInput = z.object({ password: zGivenPassword, newEmail: zEmail });
export type ChangeEmailInput = z.infer<typeof zChangeEmailInput>;

export const zVerifyEmailOut = z.object({
  ok: z.literal(true),
  /** The account's email address now (the new one, after an email change). */
  email: z.string(),
});

/** The sign-in providers (auth/oauth): here, so that auth.providers' output needs nothing from that folder. */
export const OAUTH_PROVIDER_IDS = ["github", "google", "oidc"] as const;
export const zOAuthProviderId = z.enum(OAUTH_PROVIDER_IDS);
export const zOAuthProvidersOut = z.array(z.object({ id: zOAuthProviderId, name: z.string() }));

export const zProvidersOut = z.object({
  /** Sign-in with email or username and password. */
  password: z.literal(true),
  /** auth.requestPasswordReset works (the server can send mail). */
  passwordReset: z.boolean(),
  /** Verification mails are sent, and auth.verifyEmail / resendVerification / changeEmail work. */
  emailVerification: z.boolean(),
  /** Accounts with an unconfirmed email may read but not write (FORBIDDEN, `reason: "emailNotVerified"`). */
  emailVerificationRequired: z.boolean(),
  /** Sign-in providers this server has configured (GET /api/auth/oauth/<id>/start); empty when none. */
  oauth: zOAuthProvidersOut,
});

export const zOkOut = z.object({ ok: z.literal(true) });
export const zCountOut = z.object({ revoked: z.number().int() });
