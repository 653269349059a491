import { zDeleted } from "../lib/schemas.ts";
import { protectedProcedure, router } from "../trpc.ts";
import {
  zAddVersionInput,
  zCreatePromptInput,
  zGroupWithVersions,
  zListPromptsInput,
  zListVersionsInput,
  zPromptIdInput,
  zPromptPage,
  zUpdateVersionInput,
  zVersion,
  zVersionPage,
} from "./schemas.ts";
import {
  addVersion,
  createPrompt,
  deletePrompt,
  getPrompt,
  getVersion,
  listPrompts,
  listVersions,
  updateVersion,
} from "./service.ts";

const tags = ["prompts"];

export const promptsRouter = router({
  list: protectedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/prompts",
        protect: true,
        tags,
        summary: "Prompt history, newest first",
        description: "Each group with its latest version; filter by `status`, `favorite` and `q`.",
      },
    })
    .input(zListPromptsInput)
    .output(zPromptPage)
    .query(({ ctx, input }) => listPrompts(ctx.deps, ctx.auth.user.id, input)),

  create: protectedProcedure
    .meta({
      openapi: {
        method: "POST",
        path: "/prompts",
        protect: true,
        tags,
        summary: "Start a prompt group with its first version",
        description:
          "With a client-chosen `id`, repeating the same create returns the same group. `createdAt` and " +
          "`firstVersion.timestamp` may carry the device's times (a prompt written offline); a time more than " +
          "5 minutes ahead of the server's clock is replaced by the server's.",
      },
    })
    .input(zCreatePromptInput)
    .output(zGroupWithVersions)
    .mutation(({ ctx, input }) => createPrompt(ctx.deps, ctx.auth.user.id, input)),

  get: protectedProcedure
    .meta({
      openapi: { method: "GET", path: "/prompts/{id}", protect: true, tags, summary: "A group with its versions" },
    })
    .input(zPromptIdInput)
    .output(zGroupWithVersions)
    .query(({ ctx, input }) => getPrompt(ctx.deps, ctx.auth.user.id, input)),

  delete: protectedProcedure
    .meta({
      openapi: {
        method: "DELETE",
        path: "/prompts/{id}",
        protect: true,
        tags,
        summary: "Delete a group and its versions",
      },
    })
    .input(zPromptIdInput)
    .output(zDeleted)
    .mutation(({ ctx, input }) => deletePrompt(ctx.deps, ctx.auth.user.id, input)),

  // The path parameter is named groupId so that the body's `id` stays the new version's own id.
  versions: protectedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/prompts/{groupId}/versions",
        protect: true,
        tags,
        summary: "A group's versions",
      },
    })
    .input(zListVersionsInput)
    .output(zVersionPage)
    .query(({ ctx, input }) => listVersions(ctx.deps, ctx.auth.user.id, input)),

  addVersion: protectedProcedure
    .meta({
      openapi: {
        method: "POST",
        path: "/prompts/{groupId}/versions",
        protect: true,
        tags,
        summary: "Add the next version (an iteration)",
        description:
          "Gets number `currentVersionNumber + 1`; concurrent calls get consecutive numbers. `timestamp` may " +
          "carry the device's time (as for a create). The group's status follows its latest version.",
      },
    })
    .input(zAddVersionInput)
    .output(zVersion)
    .mutation(({ ctx, input }) => addVersion(ctx.deps, ctx.auth.user.id, input)),

  version: protectedProcedure
    .meta({ openapi: { method: "GET", path: "/versions/{id}", protect: true, tags, summary: "One version" } })
    .input(zPromptIdInput)
    .output(zVersion)
    .query(({ ctx, input }) => getVersion(ctx.deps, ctx.auth.user.id, input)),

  updateVersion: protectedProcedure
    .meta({
      openapi: {
        method: "PATCH",
        path: "/versions/{id}",
        protect: true,
        tags,
        summary: "Mark or complete a version",
        description:
          "Changes `optimizedPrompt`, `status`, `favorite` and `tags`; a pending version is completed this way " +
          "(the group's status follows its latest version's).",
      },
    })
    .input(zUpdateVersionInput)
    .output(zVersion)
    .mutation(({ ctx, input }) => updateVersion(ctx.deps, ctx.auth.user.id, input)),
});
