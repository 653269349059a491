// The zod schemas the apps may reuse (forms, local validation), and nothing else: this entry point imports
// only zod and the schema files, so a client bundle that includes it carries no server code.
export * from "./account/schemas.ts";
export * from "./import/schemas.ts";
export * from "./prompts/schemas.ts";
export * from "./settings/schemas.ts";
export * from "./sync/schemas.ts";
export * from "./templates/schemas.ts";
