// Which browser pages may read the API's answers. Two kinds of caller, told apart by the page's Origin:
// - an origin listed in CORS_ORIGINS gets credentialed CORS: the browser sends the session cookie and lets
//   the page read the answer (cookie mutations then pass the Origin check of packages/api);
// - any other origin (another site, Electron's file:// renderer sending `Origin: null` or `file://`, a
//   custom scheme) gets CORS *without* credentials: the browser neither sends the cookie nor shows the page
//   an answer made with it, so only a bearer token the page holds itself authenticates, and a token carries
//   no ambient authority for a hostile page to borrow.
// The headers are set in `onRequest`, before anything can fail, so every error answer (401, 413, 429, the
// drain's 503) carries them too and the page can read why it was refused.
import cors, { type FastifyCorsOptions } from "@fastify/cors";
import type { FastifyInstance } from "fastify";

/** Request headers a page may send: the token, JSON bodies, SSE resumption, tRPC's streaming links, tracing. */
export const CORS_ALLOWED_HEADERS = ["authorization", "content-type", "last-event-id", "trpc-accept", "x-request-id"];
/** Every method of the REST paths and tRPC. */
export const CORS_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];
/**
 * Answer headers a page may read: when to retry a 429 or 503, the id to quote in a bug report, and the file
 * name GET /api/export suggests (downloadExport hands it to the page).
 */
export const CORS_EXPOSED_HEADERS = ["retry-after", "x-request-id", "content-disposition"];

const shared = {
  methods: CORS_METHODS,
  allowedHeaders: CORS_ALLOWED_HEADERS,
  exposedHeaders: CORS_EXPOSED_HEADERS,
  maxAge: 600,
} satisfies FastifyCorsOptions;

/** The CORS answer for a request from `origin` (undefined: not a cross-origin browser request). */
export function corsOptionsFor(origin: string | undefined, listedOrigins: readonly string[]): FastifyCorsOptions {
  if (origin === undefined) return { origin: false };
  if (listedOrigins.includes(origin)) return { ...shared, origin, credentials: true };
  // "*" rather than the origin itself: with it a browser refuses to attach or expose cookies whatever the
  // page asks, and no caller-chosen text is echoed into a header.
  return { ...shared, origin: "*", credentials: false };
}

/** Answers preflights (204, every path) and adds CORS headers to every answer. */
export async function registerCors(app: FastifyInstance, listedOrigins: readonly string[]): Promise<void> {
  await app.register(cors, {
    hook: "onRequest",
    delegator: (request, callback) => callback(null, corsOptionsFor(request.headers.origin, listedOrigins)),
  });
}

/**
 * The Vary of a tRPC answer: tRPC names its own (`trpc-accept, accept`) and would replace the `Origin` the CORS
 * hook set, which a cache needs as much (the allowed origin differs from page to page).
 */
export function withCorsVary(corsVary: number | string | string[] | undefined, own: string): string {
  const cors = Array.isArray(corsVary) ? corsVary.join(", ") : corsVary;
  return cors === undefined || cors === "" ? own : `${cors}, ${own}`;
}
