// How sessions travel over HTTP: `Authorization: Bearer <token>` (desktop, Node, curl) or an HttpOnly
// cookie (browsers). The cookie is `__Host-` prefixed and Secure in production: only this exact host,
// only over HTTPS, path "/", so neither a sibling subdomain nor plain HTTP can plant or read it.
// Its SameSite is the deployment's choice (SESSION_COOKIE_SAMESITE): Lax keeps it to pages of the API's own
// site; None lets a page of another site use it (where browsers still send third-party cookies), and then
// the Origin check of cookie mutations is what stands against cross-site forgery.
import type { FastifyReply, FastifyRequest } from "fastify";

import type { SessionTransport } from "@prompt-booster/api";

import type { Config } from "../config.ts";

export function sessionCookieName(config: Pick<Config, "production">): string {
  return config.production ? "__Host-pb_session" : "pb_session";
}

export interface PresentedToken {
  token: string;
  via: "cookie" | "bearer";
}

/** The token the request presents; a bearer header wins over the cookie. */
export function readSessionToken(request: FastifyRequest, cookieName: string): PresentedToken | null {
  const header = request.headers.authorization;
  if (typeof header === "string") {
    const match = /^Bearer\s+(\S{1,256})\s*$/i.exec(header);
    return match ? { token: match[1]!, via: "bearer" } : null;
  }
  const cookie = request.cookies[cookieName];
  return cookie ? { token: cookie, via: "cookie" } : null;
}

export function cookieTransport(
  reply: FastifyReply,
  cookieName: string,
  { sameSite, secure }: Config["sessionCookie"],
): SessionTransport {
  const attributes = { path: "/", httpOnly: true, sameSite, secure } as const;
  return {
    setSessionCookie(token, expiresAt) {
      void reply.setCookie(cookieName, token, { ...attributes, expires: expiresAt });
    },
    clearSessionCookie() {
      void reply.clearCookie(cookieName, attributes);
    },
  };
}
