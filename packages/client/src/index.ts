export { createClient, DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_URL_LENGTH } from "./client.ts";
export type { ApiClient, ClientAuth, ClientOptions } from "./client.ts";
export * from "./adapters.ts";
export { INDEXED_DB_PREFIX, IndexedDbSyncStore } from "./idb-store.ts";
export type { IndexedDbFactory, IndexedDbSyncStoreOptions } from "./idb-store.ts";
export { downloadExport, ExportError } from "./export.ts";
export type { DownloadExportOptions, ExportFormat } from "./export.ts";
export * from "./import.ts";
export * from "./oauth/index.ts";
export { groupStatusOf, LocalView, mergePatch, SETTINGS_PENDING_ID } from "./local-view.ts";
export type { GroupRow, RowData, SettingsRow, TemplateRow, VersionRow } from "./local-view.ts";
export { isUnauthorized } from "./session-link.ts";
export type { TokenStore } from "./session-link.ts";
export { InvalidMutationError, isResetRequired, isStreamReplaced, SyncEngine } from "./sync-engine.ts";
export type { PushResult, SyncEngineOptions, ViewChange, WriteMutation } from "./sync-engine.ts";
export { MemorySyncStore } from "./sync-store.ts";
export type {
  QueuedMutation,
  RejectedMutation,
  StoredRow,
  StoredState,
  SyncChange,
  SyncEntity,
  SyncStore,
} from "./sync-store.ts";
export type {
  AppRouter,
  AuthProviders,
  AuthResult,
  ChangeEmailInput,
  ImportInput,
  ImportResult,
  PromptGroup,
  PromptPage,
  PromptVersion,
  RequestPasswordResetInput,
  ResetPasswordInput,
  RouterInputs,
  RouterOutputs,
  Session,
  Settings,
  Template,
  TemplatePage,
  User,
  VerifyEmailResult,
} from "./router-types.ts";
export * from "./vault/index.ts";
// The zod schemas live on their own entry point, "@prompt-booster/client/schemas".
