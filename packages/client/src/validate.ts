// The server's own check of a push mutation, run on the device before a write is queued. Loaded by the engine
// on first use (a dynamic import): zod and the schemas are most of the client's weight, and an app that only
// reads never needs them.
import { zPushMutation, type PushMutation } from "@prompt-booster/api/schemas";

import { InvalidMutationError } from "./mutation-error.ts";
import type { QueuedMutation } from "./sync-store.ts";

/** The mutation as it will be applied, or an InvalidMutationError saying why not. */
export function validateMutation(mutation: QueuedMutation): PushMutation {
  const parsed = zPushMutation.safeParse(mutation);
  if (parsed.success) return parsed.data;
  const fieldErrors: Record<string, string[]> = {};
  const formErrors: string[] = [];
  for (const issue of parsed.error.issues) {
    const path = issue.path[0] === "input" ? issue.path.slice(1) : issue.path;
    if (path.length === 0) formErrors.push(issue.message);
    else (fieldErrors[path.map(String).join(".")] ??= []).push(issue.message);
  }
  throw new InvalidMutationError(mutation, fieldErrors, formErrors);
}

/** The mutation as it will be applied, or undefined if the server would refuse it. */
export function parseMutation(mutation: QueuedMutation): PushMutation | undefined {
  const parsed = zPushMutation.safeParse(mutation);
  return parsed.success ? parsed.data : undefined;
}
