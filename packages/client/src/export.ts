// The account's export as a download: GET /api/export with the client's own auth (the session cookie, or the
// bearer token from the app's store). The answer is streamed by the server; the Response's body is handed
// back unread so the app can pipe it to a file (Node, Electron) or take it as a Blob for a browser download,
// without the client holding the document. (account.export over tRPC needs httpBatchStreamLink, which this
// client's batch link is not: over it the procedure answers UNSUPPORTED_MEDIA_TYPE.)
import type { ClientOptions } from "./client.ts";

export type ExportFormat = "full" | "local";

export interface DownloadExportOptions {
  /** `full` (default): every row as the server keeps it; `local`: the app's own localStorage shapes. */
  format?: ExportFormat;
  signal?: AbortSignal;
}

/** The server refused the export: `status` and the REST error's `code` (UNAUTHORIZED, BAD_REQUEST…). */
export class ExportError extends Error {
  override readonly name = "ExportError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Starts the download and resolves once the server has answered 200: read `response.body` (or `blob()`,
 * `json()`) for the document, and `filename` for the name the server suggests. On a refusal it throws an
 * ExportError; an UNAUTHORIZED one clears a bearer client's token store and calls `onSessionExpired`, as the
 * typed client does.
 */
export async function downloadExport(
  client: Pick<ClientOptions, "url" | "auth" | "fetch" | "onSessionExpired">,
  options: DownloadExportOptions = {},
): Promise<{ response: Response; filename: string }> {
  const fetcher = client.fetch ?? globalThis.fetch.bind(globalThis);
  const url = `${client.url.replace(/\/$/, "")}/api/export?format=${encodeURIComponent(options.format ?? "full")}`;
  const token = client.auth.mode === "bearer" ? await client.auth.tokens.get() : null;
  const response = await fetcher(url, {
    method: "GET",
    headers: { accept: "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(client.auth.mode === "cookie" && { credentials: "include" as const }),
    ...(options.signal && { signal: options.signal }),
  });
  if (response.status !== 200) {
    const body = (await response.json().catch(() => null)) as { code?: unknown; message?: unknown } | null;
    const code = typeof body?.code === "string" ? body.code : "FAILED";
    const message = typeof body?.message === "string" ? body.message : `The export failed (${response.status})`;
    if (response.status === 401) {
      if (client.auth.mode === "bearer") await client.auth.tokens.clear();
      client.onSessionExpired?.();
    }
    throw new ExportError(response.status, code, message);
  }
  const named = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") ?? "")?.[1];
  const filename = named ?? `prompt-booster-${options.format === "local" ? "local" : "export"}.json`;
  return { response, filename };
}
