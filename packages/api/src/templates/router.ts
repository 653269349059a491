import { zDeleted } from "../lib/schemas.ts";
import { protectedProcedure, router } from "../trpc.ts";
import {
  zCreateTemplateInput,
  zListTemplatesInput,
  zTemplate,
  zTemplateIdInput,
  zTemplatePage,
  zUpdateTemplateInput,
} from "./schemas.ts";
import { createTemplate, deleteTemplate, getTemplate, listTemplates, updateTemplate } from "./service.ts";

const tags = ["templates"];

export const templatesRouter = router({
  list: protectedProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/templates",
        protect: true,
        tags,
        summary: "List templates",
        description:
          "The user's own (`scope=mine`), everyone's public (`public`) or both (`all`); newest first or by name.",
      },
    })
    .input(zListTemplatesInput)
    .output(zTemplatePage)
    .query(({ ctx, input }) => listTemplates(ctx.deps, ctx.auth.user.id, input)),

  get: protectedProcedure
    .meta({ openapi: { method: "GET", path: "/templates/{id}", protect: true, tags, summary: "One template" } })
    .input(zTemplateIdInput)
    .output(zTemplate)
    .query(({ ctx, input }) => getTemplate(ctx.deps, ctx.auth.user.id, input)),

  create: protectedProcedure
    .meta({
      openapi: {
        method: "POST",
        path: "/templates",
        protect: true,
        tags,
        summary: "Create a template",
        description: "With a client-chosen `id`, repeating the same create returns the same template.",
      },
    })
    .input(zCreateTemplateInput)
    .output(zTemplate)
    .mutation(({ ctx, input }) => createTemplate(ctx.deps, ctx.auth.user.id, input)),

  update: protectedProcedure
    .meta({
      openapi: {
        method: "PUT",
        path: "/templates/{id}",
        protect: true,
        tags,
        summary: "Change a template",
        description: "Only the given fields change. A stale `baseRev` answers 409 CONFLICT with the current template.",
      },
    })
    .input(zUpdateTemplateInput)
    .output(zTemplate)
    .mutation(({ ctx, input }) => updateTemplate(ctx.deps, ctx.auth.user.id, input)),

  delete: protectedProcedure
    .meta({ openapi: { method: "DELETE", path: "/templates/{id}", protect: true, tags, summary: "Delete a template" } })
    .input(zTemplateIdInput)
    .output(zDeleted)
    .mutation(({ ctx, input }) => deleteTemplate(ctx.deps, ctx.auth.user.id, input)),
});
