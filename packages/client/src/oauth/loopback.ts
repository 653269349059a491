// The desktop app's end of RFC 8252 §7.3: a one-shot HTTP listener on the loopback interface that receives the
// server's redirect from the system browser. Node only (node:http): reached through the ./electron entry.
import http from "node:http";
import type { AddressInfo } from "node:net";

import { OAuthSignInError } from "./errors.ts";
import { constantTimeEqual } from "./pkce.ts";

export const CALLBACK_PATH = "/callback";

/** How the round trip ended, for the page the browser tab shows. */
export type CallbackOutcome = "signedIn" | "linked" | "failed";
/** What the browser tab shows once the app has its answer (HTML). */
export type CallbackPage = (outcome: CallbackOutcome) => string;

const PAGE_TEXT: Record<CallbackOutcome, [string, string]> = {
  signedIn: ["Signed in", "You can close this window and return to Prompt Booster."],
  linked: ["Account linked", "You can close this window and return to Prompt Booster."],
  failed: ["Sign-in did not complete", "Return to Prompt Booster to see why and try again."],
};

export const defaultCallbackPage: CallbackPage = (outcome) =>
  `<!doctype html><html lang="en"><meta charset="utf-8"><title>Prompt Booster</title>
<body style="font:16px system-ui,sans-serif;max-width:32em;margin:4em auto;text-align:center">
<h1>${PAGE_TEXT[outcome][0]}</h1>
<p>${PAGE_TEXT[outcome][1]}</p>
</body></html>`;

export interface LoopbackOptions {
  /** The state sent to /start: only the callback carrying it is taken. */
  state: string;
  timeoutMs: number;
  signal?: AbortSignal;
  page?: CallbackPage;
}

export interface LoopbackListener {
  /** `http://127.0.0.1:<port>/callback`: the redirect_uri for /start and for the exchange. */
  redirectUri: string;
  /**
   * The query of the one callback whose state matches: `code` (a sign-in) or `linked` (a provider linked
   * from settings). Rejects with OAuthSignInError: the server's `error`
   * (with `link` for `link_required`), `timeout`, `aborted`, `invalid_callback`. The listener is closed once
   * this settles.
   */
  result: Promise<URLSearchParams>;
  /** Stops listening now (result rejects `aborted` if still waiting). */
  close(): void;
}

const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  // The page has no links, but the URL it was reached by holds the code: never pass it on.
  "referrer-policy": "no-referrer",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
  "x-content-type-options": "nosniff",
  connection: "close",
};

/**
 * Listens on 127.0.0.1 (never `localhost`, which may resolve elsewhere), on a port the OS picks. A request for
 * another path, host or method, or with another state, is answered 4xx and the wait goes on — a page that
 * guesses the port cannot end or hijack the sign-in without the state.
 */
export async function listenForCallback(options: LoopbackOptions): Promise<LoopbackListener> {
  if (options.signal?.aborted) throw new OAuthSignInError("aborted", null, { cause: options.signal.reason });
  const page = options.page ?? defaultCallbackPage;
  let settle: { resolve(query: URLSearchParams): void; reject(error: unknown): void } | null = null;
  const result = new Promise<URLSearchParams>((resolve, reject) => (settle = { resolve, reject }));
  // A rejection nobody awaits yet (the app is still opening the browser) must not crash the process.
  result.catch(() => {});
  let host = "";

  const server = http.createServer((request, response) => {
    const plain = (status: number, text: string) => {
      response.writeHead(status, {
        "content-type": "text/plain; charset=utf-8",
        "cache-control": "no-store",
        connection: "close",
      });
      response.end(text);
    };
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    // The Host check turns away DNS-rebinding pages (attacker.example resolving to 127.0.0.1).
    if (request.headers.host !== host) return plain(400, "Bad request");
    if (url.pathname !== CALLBACK_PATH) return plain(404, "Not found");
    if (request.method !== "GET") return plain(405, "Method not allowed");
    if (!settle || !constantTimeEqual(url.searchParams.get("state") ?? "", options.state)) {
      return plain(400, "This sign-in does not belong to the waiting app");
    }
    const error = url.searchParams.get("error");
    const outcome: CallbackOutcome = error
      ? "failed"
      : url.searchParams.has("code")
        ? "signedIn"
        : url.searchParams.has("linked")
          ? "linked"
          : "failed";
    const done = outcome !== "failed";
    response.writeHead(200, PAGE_HEADERS);
    response.end(page(outcome));
    if (error) finish(new OAuthSignInError(error, url.searchParams.get("link")));
    else if (done) finish(null, url.searchParams);
    else finish(new OAuthSignInError("invalid_callback"));
  });

  const timer = setTimeout(() => finish(new OAuthSignInError("timeout")), options.timeoutMs);
  const onAbort = () => finish(new OAuthSignInError("aborted", null, { cause: options.signal?.reason }));
  function finish(error: OAuthSignInError | null, query?: URLSearchParams) {
    const pending = settle;
    if (!pending) return;
    settle = null;
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    // No new connections, idle ones closed; the page being written still goes out ("connection: close" ends
    // its socket once sent).
    server.close();
    server.closeIdleConnections();
    if (error) pending.reject(error);
    else pending.resolve(query!);
  }

  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
  } catch (error) {
    finish(new OAuthSignInError("aborted", null, { cause: error }));
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  host = `127.0.0.1:${port}`;
  return {
    redirectUri: `http://${host}${CALLBACK_PATH}`,
    result,
    close: () => finish(new OAuthSignInError("aborted")),
  };
}
