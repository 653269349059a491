export { createClient, DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_URL_LENGTH } from "./client.ts";
export type { ApiClient, ClientAuth, ClientOptions } from "./client.ts";
export * from "./import.ts";
export { isUnauthorized } from "./session-link.ts";
export type { TokenStore } from "./session-link.ts";
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
export type {
  AppRouter,
  AuthResult,
  ImportInput,
  ImportResult,
  PromptGroup,
  PromptPage,
  PromptVersion,
  RouterInputs,
  RouterOutputs,
  Session,
  Settings,
  Template,
  TemplatePage,
  User,
} from "./router-types.ts";
// The zod schemas live on their own entry point, "@prompt-booster/client/schemas".
