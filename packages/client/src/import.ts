// The app's first sign-in: everything its localStorage holds, sent to import.localData in requests the
// server accepts (its body limit, and at most 10,000 versions per request), the answers merged into one.
import { TRPCClientError } from "@trpc/client";

import type { ApiClient } from "./client.ts";

/** What of `localStorage` (or `sessionStorage`, or a stand-in) the helper reads. */
export interface StorageLike {
  getItem(key: string): string | null;
}

type ImportCall = ApiClient["import"]["localData"];
export type ImportPayload = Parameters<ImportCall["mutate"]>[0];
export type ImportAnswer = Awaited<ReturnType<ImportCall["mutate"]>>;

export interface LocalImportResult extends ImportAnswer {
  /** How many requests it took. */
  requests: number;
}

export interface ImportLocalDataOptions {
  /**
   * The templates the app holds (its in-memory record, built-ins included: the server recognises and skips
   * them). Without it, a `templates` key of the storage is read, if there is one.
   */
  templates?: Record<string, unknown>;
  /** Largest request body in bytes: at most the server's BODY_LIMIT_BYTES (1 MiB unless configured). */
  maxRequestBytes?: number;
  /** Versions per request: at most the server's 10,000. */
  maxVersionsPerRequest?: number;
}

/** Below the server's default 1 MiB limit, leaving room for the request's envelope. */
export const DEFAULT_MAX_IMPORT_BYTES = 1_000_000;
export const MAX_IMPORT_VERSIONS = 10_000;
const MAX_IMPORT_GROUPS = 5_000;

/** The settings keys the app writes, each on its own. */
const SETTINGS_KEYS = ["model-settings", "my-app-theme", "i18nextLng", "selectedTemplateId", "testResultModelId"];

export type LocalImportErrorCode =
  "PAYLOAD_TOO_LARGE" | "BAD_REQUEST" | "TOO_MANY_REQUESTS" | "UNAUTHORIZED" | "SERVICE_UNAVAILABLE" | "FAILED";

/**
 * A request of the import failed. What the requests before it imported is on the server, and in
 * `completed`; calling importLocalData again sends everything again and completes it (it is idempotent).
 */
export class LocalImportError extends Error {
  override readonly name = "LocalImportError";
  constructor(
    readonly code: LocalImportErrorCode,
    message: string,
    readonly completed: LocalImportResult,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export async function importLocalData(
  client: { import: { localData: Pick<ImportCall, "mutate"> } },
  storage: StorageLike,
  options: ImportLocalDataOptions = {},
): Promise<LocalImportResult> {
  const maxBytes = options.maxRequestBytes ?? DEFAULT_MAX_IMPORT_BYTES;
  const maxVersions = Math.min(options.maxVersionsPerRequest ?? MAX_IMPORT_VERSIONS, MAX_IMPORT_VERSIONS);
  const result = emptyResult();
  const data = setAsideUnsendable(readStorage(storage, options), result.errors);
  for (const payload of requestsOf(data, maxBytes, maxVersions)) {
    let answer: ImportAnswer;
    try {
      answer = await client.import.localData.mutate(payload);
    } catch (error) {
      throw toLocalImportError(error, result);
    }
    merge(result, answer);
  }
  return result;
}

interface LocalData {
  /** PROMPT_STORE parsed, or its text as stored when it is not the app's shape (the server says what is wrong). */
  history: { groups: Record<string, unknown>; versions: Record<string, unknown[]> } | string | null;
  templates: Record<string, unknown> | null;
  settings: Record<string, unknown> | null;
}

function readStorage(storage: StorageLike, options: ImportLocalDataOptions): LocalData {
  const settings: Record<string, unknown> = {};
  for (const key of SETTINGS_KEYS) {
    const value = storage.getItem(key);
    // model-settings is JSON text: sent parsed, so what it holds is checked like everything else below.
    if (value !== null) settings[key] = key === "model-settings" ? (parseObject(value) ?? value) : value;
  }
  const storedTemplates = storage.getItem("templates");
  const parsedTemplates = storedTemplates === null ? null : parseObject(storedTemplates);
  return {
    history: readHistory(storage.getItem("PROMPT_STORE")),
    templates: options.templates ?? parsedTemplates,
    settings: Object.keys(settings).length > 0 ? settings : null,
  };
}

function readHistory(stored: string | null): LocalData["history"] {
  if (stored === null) return null;
  const parsed = parseObject(stored);
  const isShape =
    parsed !== null &&
    isRecord(parsed.groups) &&
    isRecord(parsed.versions) &&
    Object.values(parsed.versions).every(Array.isArray);
  return isShape ? (parsed as { groups: Record<string, unknown>; versions: Record<string, unknown[]> }) : stored;
}

/** JSON text → object, also when the app stored it double-encoded (a JSON string of the JSON text). */
function parseObject(text: string): Record<string, unknown> | null {
  let value: unknown = text;
  for (let depth = 0; depth < 3 && typeof value === "string"; depth++) {
    try {
      value = JSON.parse(value);
    } catch {
      return null;
    }
  }
  return isRecord(value) ? value : null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

type ItemError = ImportAnswer["errors"][number];
type Path = (string | number)[];

// The server's input guard (packages/api/src/lib/input-guard.ts) refuses a whole request over one string
// PostgreSQL cannot store (NUL) or would change (an unpaired surrogate, as a truncated emoji leaves), one
// key superjson cannot carry, or nesting past 32 levels. A real install may hold such an item: it is set
// aside here and reported like the server reports an invalid item, so the rest still goes.
const MAX_INPUT_DEPTH = 32;
const UNSAFE_KEYS = new Set(["__proto__", "constructor", "prototype"]);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function textProblem(text: string): string | null {
  if (text.includes("\u0000")) return "holds a NUL (\\u0000) character, which the server cannot store";
  if (LONE_SURROGATE.test(text)) return "is not valid Unicode text (it holds an unpaired surrogate)";
  return null;
}

interface Problem {
  path: Path;
  message: string;
}

/** What is wrong with `key` as a key of the object at `path`, or null. */
function keyProblem(key: string, path: Path): Problem | null {
  if (UNSAFE_KEYS.has(key)) return { path, message: `"${key}" is not allowed as a key` };
  const message = textProblem(key);
  return message ? { path, message: `a key ${message}` } : null;
}

/** Where `value` (found at `path` of the request) breaks the server's input guard, or null. */
function unsendable(value: unknown, path: Path): Problem | null {
  if (typeof value === "string") {
    const message = textProblem(value);
    return message ? { path, message } : null;
  }
  if (typeof value !== "object" || value === null) return null;
  if (path.length >= MAX_INPUT_DEPTH) return { path, message: `nests deeper than ${MAX_INPUT_DEPTH} levels` };
  const isArray = Array.isArray(value);
  for (const [key, item] of Object.entries(value)) {
    const problem = keyProblem(key, path) ?? unsendable(item, [...path, isArray ? Number(key) : key]);
    if (problem) return problem;
  }
  return null;
}

/** The entries of `record` (at `at` of the request) the server can take; each other one is reported. */
function sendable<T>(record: Record<string, T>, at: Path, report: (key: string, problem: Problem) => void) {
  const kept: Record<string, T> = {};
  for (const [key, value] of Object.entries(record)) {
    const problem = keyProblem(key, at) ?? unsendable(value, [...at, key]);
    if (problem) report(key, problem);
    else put(kept, key, value);
  }
  return kept;
}

function setAsideUnsendable(data: LocalData, errors: ItemError[]): LocalData {
  const field = (path: Path) => path.join(".");
  const reporter = (kind: ItemError["kind"]) => (legacyId: string, problem: Problem) =>
    errors.push({ kind, legacyId, field: field(problem.path), message: problem.message });
  const templates = data.templates && sendable(data.templates, ["templates"], reporter("template"));
  const settings = data.settings && sendable(data.settings, ["settings"], reporter("settings"));
  if (data.history === null || typeof data.history === "string") return { ...data, templates, settings };

  const history = data.history;
  const groups = sendable(history.groups, ["history", "groups"], reporter("promptGroup"));
  const versions: Record<string, unknown[]> = {};
  for (const [key, list] of Object.entries(history.versions)) {
    const groupSetAside = Object.hasOwn(history.groups, key) && !Object.hasOwn(groups, key);
    const kept = list.filter((version, index) => {
      const at: Path = ["history", "versions", key, index];
      const problem = groupSetAside
        ? { path: at, message: "its prompt group could not be imported" }
        : (keyProblem(key, ["history", "versions"]) ?? unsendable(version, at));
      if (!problem) return true;
      const id = (version as { id?: unknown } | null)?.id;
      reporter("promptVersion")(typeof id === "string" ? id : field(at), problem);
      return false;
    });
    if (kept.length > 0 || Object.hasOwn(groups, key)) put(versions, key, kept);
  }
  return { ...data, templates, settings, history: { groups, versions } };
}

const encoder = new TextEncoder();
const bytesOf = (value: unknown) => encoder.encode(JSON.stringify(value)).length;

/**
 * The requests to send: templates and settings with the first, then the history in chunks of whole groups
 * (a group's versions always travel with it). A group larger than the limit on its own goes alone, and the
 * server answers it (a 413 becomes a LocalImportError).
 */
function* requestsOf(data: LocalData, maxBytes: number, maxVersions: number): Generator<ImportPayload> {
  const first: ImportPayload = {
    ...(data.templates && { templates: data.templates as ImportPayload["templates"] }),
    ...(data.settings && { settings: data.settings }),
  };
  if (data.history === null || typeof data.history === "string") {
    yield { ...first, ...(data.history !== null && { history: data.history }) };
    return;
  }
  const { groups, versions } = data.history;
  // Versions filed under no group go last, where the server reports them.
  const keys = [...Object.keys(groups), ...Object.keys(versions).filter((key) => !Object.hasOwn(groups, key))];
  let chunk = emptyHistory();
  let bytes = bytesOf(first);
  let versionCount = 0;
  let groupCount = 0;
  let sent = false;
  for (const key of keys) {
    const group = Object.hasOwn(groups, key) ? groups[key] : undefined;
    const list = Object.hasOwn(versions, key) ? (versions[key] ?? []) : [];
    // The key twice (groups and versions), each entry's colon and comma.
    const size = bytesOf(key) * 2 + bytesOf(group ?? null) + bytesOf(list) + 4;
    const full =
      bytes + size > maxBytes || versionCount + list.length > maxVersions || groupCount + 1 > MAX_IMPORT_GROUPS;
    if (full && (groupCount > 0 || versionCount > 0)) {
      yield { ...(sent ? {} : first), history: chunk };
      sent = true;
      chunk = emptyHistory();
      bytes = 0;
      versionCount = 0;
      groupCount = 0;
    }
    if (group !== undefined) put(chunk.groups, key, group);
    if (list.length > 0 || group !== undefined) put(chunk.versions, key, list);
    bytes += size;
    versionCount += list.length;
    groupCount += 1;
  }
  if (!sent || groupCount > 0 || versionCount > 0) yield { ...(sent ? {} : first), history: chunk };
}

const emptyHistory = (): { groups: Record<string, unknown>; versions: Record<string, unknown[]> } => ({
  groups: {},
  versions: {},
});

/** As JSON.parse made it: a key such as "__proto__" stays a key (and the server names it), never a prototype. */
function put<T>(record: Record<string, T>, key: string, value: T) {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

function emptyResult(): LocalImportResult {
  return {
    imported: { promptGroups: 0, promptVersions: 0, templates: 0, settings: 0 },
    skipped: [],
    errors: [],
    secretsRemoved: [],
    revision: 0,
    ids: { promptGroups: {}, promptVersions: {}, templates: {} },
    requests: 0,
  };
}

function merge(result: LocalImportResult, answer: ImportAnswer) {
  result.requests += 1;
  for (const key of Object.keys(result.imported) as (keyof ImportAnswer["imported"])[]) {
    result.imported[key] += answer.imported[key];
  }
  result.skipped.push(...answer.skipped);
  result.errors.push(...answer.errors);
  result.secretsRemoved.push(...answer.secretsRemoved);
  result.revision = Math.max(result.revision, answer.revision);
  for (const kind of Object.keys(result.ids) as (keyof ImportAnswer["ids"])[]) {
    Object.assign(result.ids[kind], answer.ids[kind]);
  }
}

const CODES: Record<number, LocalImportErrorCode> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  413: "PAYLOAD_TOO_LARGE",
  429: "TOO_MANY_REQUESTS",
  503: "SERVICE_UNAVAILABLE",
};

/** Whatever answered (the server, or a proxy in front of it with an HTML page), a typed error. */
function toLocalImportError(error: unknown, completed: LocalImportResult): LocalImportError {
  let status: number | undefined;
  let code: string | undefined;
  if (error instanceof TRPCClientError) {
    const data = error.data as { code?: string; httpStatus?: number } | undefined;
    const response = (error.meta as { response?: { status?: number } } | undefined)?.response;
    code = data?.code;
    status = data?.httpStatus ?? response?.status;
  }
  const known = Object.values(CODES).find((value) => value === code) ?? (status ? CODES[status] : undefined);
  const message =
    known === "PAYLOAD_TOO_LARGE"
      ? "A request of the import was over the server's body limit: pass a smaller maxRequestBytes"
      : `The import stopped: ${error instanceof Error ? error.message : String(error)}`;
  return new LocalImportError(known ?? "FAILED", message, completed, { cause: error });
}
