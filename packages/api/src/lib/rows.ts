// Database rows → what clients get. One select per model (so no column leaks by accident) and one mapper;
// shared by the domain services and by sync, which sends the same shapes.
import type { Prisma } from "@prompt-booster/db";

import { asJsonObject } from "./json.ts";

export const settingsSelect = {
  id: true,
  theme: true,
  language: true,
  defaultModel: true,
  settingsData: true,
  rev: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.UserSettingsSelect;
export type SettingsRow = Prisma.UserSettingsGetPayload<{ select: typeof settingsSelect }>;

export function toSettings(row: SettingsRow) {
  const { id, theme, language, defaultModel, settingsData, rev, createdAt, updatedAt } = row;
  return {
    id,
    theme,
    language,
    defaultModel,
    settingsData: asJsonObject(settingsData),
    rev,
    createdAt,
    updatedAt,
  };
}

export const templateSelect = {
  id: true,
  userId: true,
  name: true,
  content: true,
  description: true,
  isPublic: true,
  tags: true,
  category: true,
  metadata: true,
  rev: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.TemplateSelect;
export type TemplateRow = Prisma.TemplateGetPayload<{ select: typeof templateSelect }>;

/** `isOwner` tells the app whether it may edit; the owner's id is not shown to other users. */
export function toTemplate(row: TemplateRow, viewerId: string) {
  const { userId, metadata, ...rest } = row;
  return { ...rest, metadata: asJsonObject(metadata), isOwner: userId === viewerId };
}

export const versionSelect = {
  id: true,
  groupId: true,
  number: true,
  originalPrompt: true,
  optimizedPrompt: true,
  reasoning: true,
  iterationDirection: true,
  modelId: true,
  provider: true,
  modelName: true,
  status: true,
  favorite: true,
  tags: true,
  timestamp: true,
  rev: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.PromptVersionSelect;
export type VersionRow = Prisma.PromptVersionGetPayload<{ select: typeof versionSelect }>;
export const toVersion = (row: VersionRow) => ({ ...row });

export const groupSelect = {
  id: true,
  originalPrompt: true,
  currentVersionNumber: true,
  status: true,
  rev: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.PromptGroupSelect;
export type GroupRow = Prisma.PromptGroupGetPayload<{ select: typeof groupSelect }>;
export const toGroup = (row: GroupRow) => ({ ...row });
