export { createClient, DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_URL_LENGTH, isUnauthorized } from "./client.ts";
export type { ApiClient, ClientAuth, ClientOptions, TokenStore } from "./client.ts";
export { isResetRequired, isStreamReplaced, MemorySyncStore, SyncEngine } from "./sync-engine.ts";
export type {
  PushMutation,
  PushResult,
  StoredRow,
  SyncChange,
  SyncEngineOptions,
  SyncEntity,
  SyncStore,
} from "./sync-engine.ts";
// Types only: erased from the build, so no server code comes with them.
export type { AppRouter, RouterInputs, RouterOutputs } from "@prompt-booster/api";
// The input/output schemas, from the api package's schema-only entry point (zod and nothing else).
export * as schemas from "@prompt-booster/api/schemas";
