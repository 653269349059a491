// The input/output schemas, on their own entry point so an app pays for zod only if it imports them.
export * from "@prompt-booster/api/schemas";
