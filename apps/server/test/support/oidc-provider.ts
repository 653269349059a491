// A real OpenID Provider (the certified `oidc-provider`) on a loopback port, for sign-in tests. Its
// development login form accepts any password: the "login" field names the account; a consent page with one
// "Continue" button follows (oidc-provider always asks consent for native clients).
import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, decodeJwt, decodeProtectedHeader, importJWK, type JWK } from "jose";
// oidc-provider ships no types; the few members used here are typed below.
// eslint-disable-next-line @typescript-eslint/ban-ts-comment
// @ts-ignore
import ProviderModule from "oidc-provider";

export interface TestAccount {
  /** The `sub`, and what the login form's "login" field takes. */
  id: string;
  email: string;
  emailVerified: boolean;
  preferredUsername?: string;
  name?: string;
}

/** Ways the provider can misbehave on its next token answers (its ID token is altered and signed again). */
export type IdTokenTampering = "nonce" | "aud" | "iss" | "signature" | "expired" | undefined;

export interface TestOidcProvider {
  /** `http://127.0.0.1:<port>` (with a final "/" when started with `trailingSlash`): OAUTH_OIDC_ISSUER. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The server env that points the `oidc` provider here. */
  env: Record<string, string>;
  /** A verified-email account and an unverified one (fresh addresses per provider). */
  verified: TestAccount;
  unverified: TestAccount;
  /** Adds an account (e.g. one whose email matches an existing user). */
  addAccount(account: Omit<TestAccount, "id"> & { id?: string }): TestAccount;
  /** Alters the ID token of later token answers until set back to undefined. */
  tamperIdToken: IdTokenTampering;
  close(): Promise<void>;
}

interface ProviderInstance {
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => void;
  use(middleware: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): void;
}
interface KoaContext {
  path: string;
  method: string;
  status: number;
  body: unknown;
}
const Provider = ProviderModule as unknown as new (issuer: string, config: object) => ProviderInstance;

/**
 * Starts the provider on 127.0.0.1 (port 0). Its client is "native" with the redirect URI
 * `http://127.0.0.1/api/auth/oauth/oidc/callback`, which RFC 8252 lets match on any port, so a test server on
 * any loopback port can use it; `redirectUris` adds exact ones.
 */
export async function startOidcProvider(
  options: { redirectUris?: string[]; trailingSlash?: boolean } = {},
): Promise<TestOidcProvider> {
  const accounts = new Map<string, TestAccount>();
  const suffix = randomUUID().slice(0, 8);
  const add = (account: Omit<TestAccount, "id"> & { id?: string }): TestAccount => {
    const full = { ...account, id: account.id ?? `acct-${randomUUID()}` };
    accounts.set(full.id, full);
    return full;
  };
  const verified = add({
    email: `oidc-verified-${suffix}@example.com`,
    emailVerified: true,
    preferredUsername: `oidc.verified.${suffix}`,
    name: "Verified Person",
  });
  const unverified = add({
    email: `oidc-unverified-${suffix}@example.com`,
    emailVerified: false,
    preferredUsername: `oidc.unverified.${suffix}`,
  });

  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const signingJwk = { ...(privateKey.export({ format: "jwk" }) as JWK), kid: `k-${suffix}`, alg: "RS256", use: "sig" };
  // A key the provider does not publish, under the same kid: its signatures fail against the JWKS.
  const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" }) as JWK;

  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  // `trailingSlash`: an issuer written with a final "/", as Authentik, GitLab and Hydra publish theirs.
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}${options.trailingSlash ? "/" : ""}`;
  const clientId = `prompt-booster-${suffix}`;
  const clientSecret = randomBytes(24).toString("base64url");

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        application_type: "native",
        redirect_uris: ["http://127.0.0.1/api/auth/oauth/oidc/callback", ...(options.redirectUris ?? [])],
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
    ],
    jwks: { keys: [signingJwk] },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    claims: {
      openid: ["sub"],
      email: ["email", "email_verified"],
      profile: ["preferred_username", "name"],
    },
    // The scopes' claims go into the ID token too (as Google, Keycloak and Entra do), not only into userinfo.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    async findAccount(_ctx: unknown, id: string) {
      const account = accounts.get(id);
      if (!account) return undefined;
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            email: account.email,
            email_verified: account.emailVerified,
            preferred_username: account.preferredUsername,
            name: account.name,
          };
        },
      };
    },
  });

  const result: TestOidcProvider = {
    issuer,
    clientId,
    clientSecret,
    env: { OAUTH_OIDC_ISSUER: issuer, OAUTH_OIDC_CLIENT_ID: clientId, OAUTH_OIDC_CLIENT_SECRET: clientSecret },
    verified,
    unverified,
    addAccount: add,
    tamperIdToken: undefined,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  // The adversary: rewrites the ID token of a token answer, signed again (with the provider's key, or for
  // "signature" with a key it does not publish).
  provider.use(async (ctx, next) => {
    await next();
    const tampering = result.tamperIdToken;
    const body = ctx.body as { id_token?: string } | undefined;
    if (!tampering || ctx.path !== "/token" || ctx.status !== 200 || typeof body?.id_token !== "string") return;
    const claims = decodeJwt(body.id_token);
    const header = decodeProtectedHeader(body.id_token);
    const now = Math.floor(Date.now() / 1000);
    if (tampering === "nonce") claims.nonce = "not-the-nonce-that-was-sent";
    if (tampering === "aud") claims.aud = "someone-else";
    if (tampering === "iss") claims.iss = "http://127.0.0.1:1";
    if (tampering === "expired") Object.assign(claims, { iat: now - 7_200, exp: now - 3_600 });
    const key = await importJWK(tampering === "signature" ? stranger : signingJwk, "RS256");
    body.id_token = await new SignJWT(claims).setProtectedHeader({ ...header, alg: "RS256" }).sign(key);
  });

  server.on("request", provider.callback());
  return result;
}

/** A minimal cookie jar for driving browser flows with fetch (one cookie per name, path ignored). */
export class CookieJar {
  private readonly cookies = new Map<string, Map<string, string>>();

  store(url: string, response: Response): void {
    const host = new URL(url).host;
    const jar = this.cookies.get(host) ?? new Map<string, string>();
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === "" || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    this.cookies.set(host, jar);
  }

  header(url: string): string {
    const jar = this.cookies.get(new URL(url).host);
    return jar ? [...jar].map(([name, value]) => `${name}=${value}`).join("; ") : "";
  }

  get(url: string, name: string): string | undefined {
    return this.cookies.get(new URL(url).host)?.get(name);
  }

  set(url: string, name: string, value: string): void {
    const host = new URL(url).host;
    const jar = this.cookies.get(host) ?? new Map<string, string>();
    jar.set(name, value);
    this.cookies.set(host, jar);
  }
}

export interface BrowserStep {
  url: string;
  status: number;
  location: string | undefined;
}

/**
 * Plays a browser from `startUrl` (a server's /start URL): follows redirects with cookies, and signs in as
 * `login` on the provider's login form (or cancels there, with `cancel`). Stops at the first redirect that
 * leaves both the server and the provider (the app's redirect_uri or APP_URL), or at a non-redirect answer
 * outside the login form; that answer's URL is `final`.
 */
export async function driveSignIn(
  startUrl: string,
  options: { login: string; issuer: string; jar?: CookieJar; cancel?: boolean; stopAt?: (url: string) => boolean },
): Promise<{ final: BrowserStep; steps: BrowserStep[]; jar: CookieJar; body: string }> {
  const jar = options.jar ?? new CookieJar();
  const startOrigin = new URL(startUrl).origin;
  const issuerOrigin = new URL(options.issuer).origin;
  const steps: BrowserStep[] = [];
  let url = startUrl;
  let init: RequestInit = {};
  for (let hop = 0; hop < 30; hop++) {
    const response = await fetch(url, {
      ...init,
      redirect: "manual",
      headers: { ...(init.headers as Record<string, string>), cookie: jar.header(url) },
    });
    jar.store(url, response);
    const location = response.headers.get("location") ?? undefined;
    const step = { url, status: response.status, location };
    steps.push(step);
    if (location && response.status >= 300 && response.status < 400) {
      const next = new URL(location, url).href;
      const origin = new URL(next).origin;
      await response.body?.cancel();
      if ((origin !== startOrigin && origin !== issuerOrigin) || options.stopAt?.(next)) {
        return { final: { url: next, status: 0, location: undefined }, steps, jar, body: "" };
      }
      url = next;
      init = {};
      continue;
    }
    const body = await response.text();
    const form = /<form[^>]*action="([^"]+)"[^>]*method="post"/i.exec(body);
    const prompt = /name="prompt" value="(login|consent)"/.exec(body)?.[1];
    if (new URL(url).origin === issuerOrigin && form && prompt) {
      const uid = new URL(form[1]!, url).pathname.split("/")[2]!;
      if (options.cancel) {
        url = `${issuerOrigin}/interaction/${uid}/abort`;
        init = {};
        continue;
      }
      url = new URL(form[1]!, url).href;
      const fields: Record<string, string> =
        prompt === "login" ? { prompt, login: options.login, password: "any" } : { prompt };
      init = {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(fields).toString(),
      };
      continue;
    }
    return { final: step, steps, jar, body };
  }
  throw new Error(`driveSignIn: too many redirects: ${steps.map((step) => step.url).join(" -> ")}`);
}
