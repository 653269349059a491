import { randomBytes } from "node:crypto";
import path from "node:path";
import { z } from "zod";

import type { OAuthProvidersConfig } from "@prompt-booster/api";
import type { DbConfig } from "@prompt-booster/db";

/** A configuration problem; its message is one line naming the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const list = z.string().transform((value) =>
  value
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean),
);

/**
 * One entry of CORS_ORIGINS, as a browser writes it in the Origin header: "https://app.example.com" (default
 * port dropped, host lower-cased), a custom scheme ("app://local", Electron's registered schemes), "file://"
 * (what some Electron versions send) or "null" (what Chromium sends for file:// pages and sandboxed frames).
 */
function toOrigin(entry: string): string | undefined {
  if (entry === "null") return entry;
  if (!/^[a-z][a-z\d+.-]*:\/\//i.test(entry) || !URL.canParse(entry)) return undefined;
  const url = new URL(entry);
  if (url.username || url.password || url.search || url.hash || (url.pathname !== "/" && url.pathname !== "")) {
    return undefined;
  }
  if (url.protocol === "http:" || url.protocol === "https:") return url.origin;
  if (url.protocol === "file:") return url.host === "" ? "file://" : undefined;
  // Node gives no `origin` for schemes it does not know; a browser serialises them as scheme://host.
  return url.host ? `${url.protocol}//${url.host.toLowerCase()}` : undefined;
}

const originList = list.transform((entries, context) =>
  entries.map((entry) => {
    const origin = toOrigin(entry);
    if (origin === undefined) {
      context.addIssue({
        code: "custom",
        message: `"${entry}" is not an origin: list origins such as https://app.example.com, app://local, file:// or null`,
      });
      return z.NEVER;
    }
    return origin;
  }),
);

/** An http(s) address without query or fragment, kept without its trailing slash (APP_URL). */
const appUrl = z
  .string()
  .refine((value) => /^https?:\/\//i.test(value) && URL.canParse(value), "must be an http:// or https:// URL")
  .transform((value) => new URL(value))
  .refine((url) => !url.search && !url.hash && !url.username, "must have no query, fragment or credentials")
  .transform((url) => url.href.replace(/\/+$/, ""));

const envSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    HOST: z.string().min(1).default("127.0.0.1"),
    PORT: int(0, 65_535).default(3000),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/, "must be a postgres:// or postgresql:// URL")
      .optional(),
    PGLITE_DATA_DIR: z.string().min(1).default("./.data/pglite"),
    DB_POOL_MAX: int(1, 500).default(10),
    DB_CONNECT_TIMEOUT_MS: int(100, 120_000).default(5_000),
    DB_STATEMENT_TIMEOUT_MS: int(100, 600_000).default(15_000),
    CORS_ORIGINS: originList.default([]),
    SESSION_COOKIE_SAMESITE: z.enum(["lax", "strict", "none"]).default("lax"),
    BODY_LIMIT_BYTES: int(1_024, 100 * 1024 * 1024).default(1024 * 1024),
    TRPC_MAX_BATCH_SIZE: int(1, 1_000).default(25),
    REQUEST_TIMEOUT_MS: int(1_000, 600_000).default(30_000),
    SHUTDOWN_TIMEOUT_MS: int(100, 600_000).default(10_000),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\/\S+$/, "must be a redis:// or rediss:// URL")
      .optional(),
    RATE_LIMIT_KEY_PREFIX: z.string().min(1).max(100).default("prompt-booster:rate-limit:"),
    AUTH_RATE_LIMIT_WINDOW_MS: int(1_000, 86_400_000).default(15 * 60_000),
    AUTH_RATE_LIMIT_PER_IP: int(1, 1_000_000).default(100),
    AUTH_RATE_LIMIT_FAILED_LOGINS: int(1, 1_000_000).default(10),
    AUTH_RATE_LIMIT_MAIL_PER_IP: int(1, 1_000_000).default(20),
    AUTH_RATE_LIMIT_MAIL_PER_ADDRESS: int(1, 1_000_000).default(5),
    SMTP_URL: z
      .string()
      .regex(/^smtps?:\/\/\S+$/, "must be an smtp:// or smtps:// URL")
      .optional(),
    MAIL_FROM: z.string().trim().min(3).max(320).optional(),
    APP_URL: appUrl.optional(),
    AUTH_REQUIRE_EMAIL_VERIFICATION: z
      .enum(["true", "false"])
      .default("false")
      .transform((value) => value === "true"),
    SYNC_TOMBSTONE_RETENTION_DAYS: int(1, 3_650).default(30),
    SYNC_PRUNE_INTERVAL_MS: int(0, 86_400_000).default(3_600_000),
    SYNC_MAX_STREAMS_PER_USER: int(1, 100_000).default(20),
    IMPORT_CONCURRENCY: int(1, 100).default(2),
    IMPORT_QUEUE_MAX: int(0, 10_000).default(20),
    METRICS_PORT: int(0, 65_535).optional(),
    TRUST_PROXY: z
      .enum(["true", "false"])
      .default("false")
      .transform((value) => value === "true"),
    PUBLIC_URL: appUrl.optional(),
    OAUTH_GITHUB_CLIENT_ID: z.string().trim().min(1).max(500).optional(),
    OAUTH_GITHUB_CLIENT_SECRET: z.string().trim().min(1).max(500).optional(),
    OAUTH_GOOGLE_CLIENT_ID: z.string().trim().min(1).max(500).optional(),
    OAUTH_GOOGLE_CLIENT_SECRET: z.string().trim().min(1).max(500).optional(),
    OAUTH_OIDC_ISSUER: z
      .string()
      .refine((value) => /^https?:\/\//i.test(value) && URL.canParse(value), "must be an http:// or https:// URL")
      .refine((value) => !new URL(value).search && !new URL(value).hash, "must have no query or fragment")
      .optional(),
    OAUTH_OIDC_CLIENT_ID: z.string().trim().min(1).max(500).optional(),
    OAUTH_OIDC_CLIENT_SECRET: z.string().trim().min(1).max(500).optional(),
    OAUTH_OIDC_NAME: z.string().trim().min(1).max(60).default("OpenID Connect"),
    OAUTH_STATE_SECRET: z.string().min(32, "must be at least 32 characters (e.g. openssl rand -base64 48)").optional(),
    OAUTH_DESKTOP_SCHEMES: list
      .pipe(
        z.array(
          z
            .string()
            .toLowerCase()
            .regex(/^[a-z][a-z\d+.-]*$/, "must list URL schemes (e.g. promptbooster), without ':' or '//'")
            .refine(
              (scheme) =>
                !["http", "https", "javascript", "data", "file", "blob", "about", "vbscript"].includes(scheme),
              "must list the app's own schemes, not http, https, javascript, data, file, blob or about",
            ),
        ),
      )
      .default([]),
  })
  .strip()
  .superRefine((env, context) => {
    if (env.METRICS_PORT !== undefined && env.METRICS_PORT !== 0 && env.METRICS_PORT === env.PORT) {
      context.addIssue({ code: "custom", path: ["METRICS_PORT"], message: "must differ from PORT" });
    }
    // A SameSite=None cookie is sent from every page; "null" names no one (any sandboxed frame, data: URL or
    // file:// page of any site is "null"), so together they would hand the session to whoever asks.
    if (env.SESSION_COOKIE_SAMESITE === "none" && env.CORS_ORIGINS.includes("null")) {
      context.addIssue({
        code: "custom",
        path: ["CORS_ORIGINS"],
        message:
          '"null" cannot be trusted with a SameSite=None cookie (every sandboxed or file:// page is "null"); ' +
          "bearer requests from Origin: null need no entry",
      });
    }
    // Production mails real people: where the links go and who writes must be said, not guessed.
    if (env.NODE_ENV === "production" && env.SMTP_URL !== undefined) {
      for (const name of ["APP_URL", "MAIL_FROM"] as const) {
        if (env[name] === undefined) {
          context.addIssue({ code: "custom", path: [name], message: "is required in production with SMTP_URL" });
        }
      }
    }
    // A provider needs both halves of its client; the generic one its issuer as well.
    const pairs = [
      ["OAUTH_GITHUB_CLIENT_ID", "OAUTH_GITHUB_CLIENT_SECRET"],
      ["OAUTH_GOOGLE_CLIENT_ID", "OAUTH_GOOGLE_CLIENT_SECRET"],
      ["OAUTH_OIDC_CLIENT_ID", "OAUTH_OIDC_CLIENT_SECRET"],
    ] as const;
    for (const [id, secret] of pairs) {
      if ((env[id] === undefined) !== (env[secret] === undefined)) {
        const missing = env[id] === undefined ? id : secret;
        context.addIssue({
          code: "custom",
          path: [missing],
          message: `is required with ${missing === id ? secret : id}`,
        });
      }
    }
    const oidcSet = env.OAUTH_OIDC_ISSUER !== undefined || env.OAUTH_OIDC_CLIENT_ID !== undefined;
    if (oidcSet && (env.OAUTH_OIDC_ISSUER === undefined || env.OAUTH_OIDC_CLIENT_ID === undefined)) {
      const missing = env.OAUTH_OIDC_ISSUER === undefined ? "OAUTH_OIDC_ISSUER" : "OAUTH_OIDC_CLIENT_ID";
      context.addIssue({
        code: "custom",
        path: [missing],
        message: "is required to turn on the generic OpenID Connect provider",
      });
    }
    if (env.OAUTH_OIDC_ISSUER !== undefined && !env.OAUTH_OIDC_ISSUER.startsWith("https://")) {
      // Plain http only for a provider on this machine, outside production (tests, local development).
      const loopback = ["127.0.0.1", "[::1]", "localhost"].includes(new URL(env.OAUTH_OIDC_ISSUER).hostname);
      if (env.NODE_ENV === "production" || !loopback) {
        context.addIssue({
          code: "custom",
          path: ["OAUTH_OIDC_ISSUER"],
          message: "must be an https:// URL (plain http only for a loopback issuer outside production)",
        });
      }
    }
    const anyProvider = pairs.some(([id]) => env[id] !== undefined);
    // Every replica must check the flow cookies the others signed: the secret is said, not made up per process.
    if (env.NODE_ENV === "production" && anyProvider && env.OAUTH_STATE_SECRET === undefined) {
      context.addIssue({
        code: "custom",
        path: ["OAUTH_STATE_SECRET"],
        message: "is required in production when a sign-in provider (OAUTH_*) is configured",
      });
    }
    // The one mail setting that stops start-up: accounts could never be confirmed, so nobody could write.
    if (env.NODE_ENV === "production" && env.AUTH_REQUIRE_EMAIL_VERIFICATION && env.SMTP_URL === undefined) {
      context.addIssue({
        code: "custom",
        path: ["AUTH_REQUIRE_EMAIL_VERIFICATION"],
        message: "true needs SMTP_URL (verification mails could not be sent): set SMTP_URL or turn this off",
      });
    }
  });

export type Env = z.input<typeof envSchema>;

export interface Config {
  env: "development" | "production" | "test";
  production: boolean;
  host: string;
  port: number;
  logLevel: string;
  db: DbConfig;
  /** Origins whose pages may use the session cookie (credentialed CORS, Origin check of cookie mutations). */
  corsOrigins: string[];
  /** `secure` is forced by production and by SameSite=None (browsers drop a None cookie that is not Secure). */
  sessionCookie: { sameSite: "lax" | "strict" | "none"; secure: boolean };
  bodyLimitBytes: number;
  trpcMaxBatchSize: number;
  requestTimeoutMs: number;
  shutdownTimeoutMs: number;
  trustProxy: boolean;
  /**
   * The Prometheus endpoint (GET /metrics) listens on `host:metricsPort`, apart from the API so that it is
   * never served to the API's clients; undefined: no metrics at all. 0 picks a free port (tests).
   */
  metricsPort: number | undefined;
  /** Sync tombstones are kept this long; a device whose cursor is older must start over from a snapshot. */
  /**
   * `maxStreamsPerUser`: open sync.subscribe streams of one user in this process; a newer one closes the
   * oldest. Each replica counts its own, so across N replicas a user may hold up to N times as many.
   */
  sync: { tombstoneRetentionMs: number; pruneIntervalMs: number; maxStreamsPerUser: number };
  /** Imports run at once by this process (each holds at most one connection at a time), and imports waiting. */
  imports: { concurrency: number; queueMax: number };
  /**
   * Account mails (password reset, email verification, email change). `mode`: "smtp" with SMTP_URL; "log"
   * without it outside production (each mail written to the log at info level); "off" in production without
   * it (the server starts, warns once, and the mail flows answer "mailNotConfigured").
   */
  mail: {
    mode: "smtp" | "log" | "off";
    smtpUrl: string | undefined;
    from: string;
    /** The web app's address: the mails' links open `<appUrl>/reset-password#token=…` and `/verify-email#token=…`. */
    appUrl: string;
    /** Unconfirmed accounts may sign in and read, but not write. */
    requireEmailVerification: boolean;
  };
  /** Rate limits of register/login/refresh; counters live in Redis when `redisUrl` is set, else in memory. */
  rateLimit: {
    redisUrl: string | undefined;
    keyPrefix: string;
    windowMs: number;
    /** Attempts of each of register, login and refresh per IP per window. */
    perIp: number;
    /** Failed logins per account per window. */
    failedLoginsPerAccount: number;
    /** Account mails (reset requests, verification resends, email changes) per IP, and per address, per window. */
    mailPerIp: number;
    mailPerAddress: number;
  };
  /**
   * Sign-in with GitHub, Google and a generic OpenID Connect provider. `stateSecret` signs the flow cookie (from
   * OAUTH_STATE_SECRET; outside production a random one per process when unset). `desktopSchemes`: custom
   * schemes an app's redirect_uri may use. `publicUrl`: the server's address as providers reach it (their
   * callback URL); unset, the request's own origin.
   */
  oauth: {
    providers: OAuthProvidersConfig;
    stateSecret: string;
    desktopSchemes: string[];
    publicUrl: string | undefined;
    /** A plain-http loopback issuer is accepted (never in production). */
    allowHttpIssuer: boolean;
  };
}

/** Reads and validates the environment once, at start-up. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // An empty variable means "not set", as in most deployment tools.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? "environment");
    const shown = name in present && !/URL|SECRET|PASSWORD/.test(name) ? ` (got "${present[name]}")` : "";
    throw new ConfigError(`invalid configuration: ${name}: ${issue.message}${shown}`);
  }
  const e = parsed.data;
  return {
    env: e.NODE_ENV,
    production: e.NODE_ENV === "production",
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    db: {
      databaseUrl: e.DATABASE_URL,
      dataDir: e.PGLITE_DATA_DIR.startsWith("memory://") ? e.PGLITE_DATA_DIR : path.resolve(e.PGLITE_DATA_DIR),
      pool: {
        max: e.DB_POOL_MAX,
        connectionTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
        statementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
      },
    },
    corsOrigins: e.CORS_ORIGINS,
    sessionCookie: {
      sameSite: e.SESSION_COOKIE_SAMESITE,
      secure: e.NODE_ENV === "production" || e.SESSION_COOKIE_SAMESITE === "none",
    },
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    trpcMaxBatchSize: e.TRPC_MAX_BATCH_SIZE,
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    trustProxy: e.TRUST_PROXY,
    metricsPort: e.METRICS_PORT,
    sync: {
      tombstoneRetentionMs: e.SYNC_TOMBSTONE_RETENTION_DAYS * 86_400_000,
      pruneIntervalMs: e.SYNC_PRUNE_INTERVAL_MS,
      maxStreamsPerUser: e.SYNC_MAX_STREAMS_PER_USER,
    },
    imports: { concurrency: e.IMPORT_CONCURRENCY, queueMax: e.IMPORT_QUEUE_MAX },
    rateLimit: {
      redisUrl: e.REDIS_URL,
      keyPrefix: e.RATE_LIMIT_KEY_PREFIX,
      windowMs: e.AUTH_RATE_LIMIT_WINDOW_MS,
      perIp: e.AUTH_RATE_LIMIT_PER_IP,
      failedLoginsPerAccount: e.AUTH_RATE_LIMIT_FAILED_LOGINS,
      mailPerIp: e.AUTH_RATE_LIMIT_MAIL_PER_IP,
      mailPerAddress: e.AUTH_RATE_LIMIT_MAIL_PER_ADDRESS,
    },
    mail: {
      mode: e.SMTP_URL !== undefined ? "smtp" : e.NODE_ENV === "production" ? "off" : "log",
      smtpUrl: e.SMTP_URL,
      from: e.MAIL_FROM ?? "Prompt Booster <no-reply@localhost>",
      appUrl: e.APP_URL ?? "http://localhost:5173",
      requireEmailVerification: e.AUTH_REQUIRE_EMAIL_VERIFICATION,
    },
    oauth: {
      providers: {
        github: clientOf(e.OAUTH_GITHUB_CLIENT_ID, e.OAUTH_GITHUB_CLIENT_SECRET),
        google: clientOf(e.OAUTH_GOOGLE_CLIENT_ID, e.OAUTH_GOOGLE_CLIENT_SECRET),
        oidc:
          e.OAUTH_OIDC_ISSUER !== undefined && e.OAUTH_OIDC_CLIENT_ID !== undefined
            ? {
                issuer: e.OAUTH_OIDC_ISSUER,
                clientId: e.OAUTH_OIDC_CLIENT_ID,
                clientSecret: e.OAUTH_OIDC_CLIENT_SECRET ?? "",
                name: e.OAUTH_OIDC_NAME,
              }
            : undefined,
      },
      stateSecret: e.OAUTH_STATE_SECRET ?? randomBytes(32).toString("base64url"),
      desktopSchemes: e.OAUTH_DESKTOP_SCHEMES,
      publicUrl: e.PUBLIC_URL,
      allowHttpIssuer: e.NODE_ENV !== "production",
    },
  };
}

const clientOf = (clientId: string | undefined, clientSecret: string | undefined) =>
  clientId !== undefined && clientSecret !== undefined ? { clientId, clientSecret } : undefined;
