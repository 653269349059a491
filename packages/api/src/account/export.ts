// account.export's writer: everything a user owns as one JSON document, yielded as pieces of its text.
//
// Rows are read in keyset pages (groups by id, each group's versions by number, templates by id), and each
// page becomes one piece as soon as it is read, so memory holds one page whatever the account's size; a
// consumer that stops pulling (a slow download) stops the reads too. Tombstones are left out.
//
// Not a snapshot: each page is its own query, so a row written while an export runs may or may not be in it.
import type { Prisma, PrismaClient } from "@prompt-booster/db";

import * as rows from "../lib/rows.ts";

import {
  EXPORT_VERSION,
  FULL_EXPORT_FORMAT,
  LOCAL_EXPORT_FORMAT,
  type ExportFormat,
  type FullExport,
  type LocalExportData,
} from "./schemas.ts";

/** Rows per query: a page of this many versions is a few hundred KB of text at most with typical prompts. */
export const EXPORT_PAGE_SIZE = 500;
/** Groups per query; each group's versions are then read in pages of their own. */
const GROUP_PAGE_SIZE = 100;

export interface ExportOptions {
  format: ExportFormat;
  /** The document's `exportedAt`. */
  now: Date;
  /** Rows per query (tests make it small to cross page boundaries). */
  pageSize?: number;
}

type Db = Pick<
  PrismaClient,
  "user" | "userSettings" | "template" | "promptGroup" | "promptVersion" | "vaultKey" | "vaultEntry" | "identity"
>;

// The domain's selects, less the sync bookkeeping (`rev`) and the owner: what the document shows of a row.
const { userId: _owner, rev: _templateRev, ...templateSelect } = rows.templateSelect;
const { rev: _groupRev, ...groupSelect } = rows.groupSelect;
const { rev: _versionRev, ...versionSelect } = rows.versionSelect;
const { id: _settingsId, rev: _settingsRev, ...settingsColumns } = rows.settingsSelect;
const settingsSelect = { ...settingsColumns, deletedAt: true } satisfies Prisma.UserSettingsSelect;

type TemplateRow = Prisma.TemplateGetPayload<{ select: typeof templateSelect }>;
type GroupRow = Prisma.PromptGroupGetPayload<{ select: typeof groupSelect }>;
type VersionRow = Prisma.PromptVersionGetPayload<{ select: typeof versionSelect }>;
type SettingsRow = Prisma.UserSettingsGetPayload<{ select: typeof settingsSelect }>;

/** The document's text, piece by piece; the pieces joined are the whole document. */
export function exportDocument(db: Db, userId: string, options: ExportOptions): AsyncGenerator<string> {
  const reader = pageReader(db, userId, options.pageSize ?? EXPORT_PAGE_SIZE);
  return options.format === "local"
    ? localDocument(reader, options.now)
    : fullDocument(db, reader, userId, options.now);
}

const json = (value: unknown) => JSON.stringify(value);
/** `"key":` — the name of a member, with its separator. */
const member = (key: string, first = false) => `${first ? "" : ","}${json(key)}:`;

async function* fullDocument(db: Db, reader: PageReader, userId: string, now: Date): AsyncGenerator<string> {
  const user = await db.user.findUniqueOrThrow({
    where: { id: userId },
    select: { id: true, email: true, username: true, createdAt: true },
  });
  const header: Pick<FullExport, "format" | "version" | "exportedAt" | "user"> = {
    format: FULL_EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: now.toISOString(),
    user: { ...user, createdAt: user.createdAt.toISOString() },
  };
  // The header's own members, without its closing brace: the rest follows.
  yield json(header).slice(0, -1);

  const settings = await reader.settings();
  yield member("settings") + json(settings && !settings.deletedAt ? iso(withoutDeletedAt(settings)) : null);

  yield member("templates") + "[";
  yield* list(reader.templates(), (template) => json(iso(template)));
  yield "]";

  yield member("promptGroups") + "[";
  let firstGroup = true;
  for await (const group of reader.groups()) {
    const { id } = group;
    yield `${firstGroup ? "" : ","}${json(iso(group)).slice(0, -1)}${member("versions")}[`;
    firstGroup = false;
    yield* list(reader.versions([id]), ({ groupId: _groupId, ...version }) => json(iso(version)));
    yield "]}";
  }
  yield "]";

  const [key, entries] = await Promise.all([
    db.vaultKey.findFirst({
      where: { userId, deletedAt: null },
      select: {
        kdf: true,
        kdfIterations: true,
        kdfSalt: true,
        wrappedKey: true,
        wrapIv: true,
        verifier: true,
        keyVersion: true,
        createdAt: true,
        updatedAt: true,
      },
    }),
    // One per provider the user keeps a key for: a handful of rows.
    db.vaultEntry.findMany({
      where: { userId, deletedAt: null },
      select: { id: true, provider: true, ciphertext: true, iv: true, version: true, createdAt: true, updatedAt: true },
      orderBy: { provider: "asc" },
    }),
  ]);
  yield member("vault") + json({ key: key && iso(key), entries: entries.map(iso) });
  // The provider's name and when it was linked: not the provider's account id or address.
  const identities = await db.identity.findMany({
    where: { userId },
    select: { provider: true, linkedAt: true },
    orderBy: { linkedAt: "asc" },
  });
  yield member("identities") + json(identities.map(iso)) + "}";
}

async function* localDocument(reader: PageReader, now: Date): AsyncGenerator<string> {
  yield json({ format: LOCAL_EXPORT_FORMAT, version: EXPORT_VERSION, exportedAt: now.toISOString() }).slice(0, -1);
  yield `${member("data")}{${member("history", true)}{${member("groups", true)}{`;
  // PROMPT_STORE keeps groups and versions in two records: one pass over the groups for each.
  yield* list(reader.groupPages(), (group) => `${json(group.id)}:${json(localGroup(group))}`);
  yield `}${member("versions")}{`;
  let firstGroup = true;
  for await (const page of reader.groupPages()) {
    for (const group of page) {
      yield `${firstGroup ? "" : ","}${json(group.id)}:[`;
      firstGroup = false;
      yield* list(reader.versions([group.id]), (version) => json(localVersion(version)));
      yield "]";
    }
  }
  yield `}${member("activeGroupId")}null${member("activeVersionNumber")}null}`;

  yield member("templates") + "{";
  yield* list(reader.templates(), (template) => `${json(template.id)}:${json(localTemplate(template))}`);
  yield "}";

  const settings = await reader.settings();
  if (settings && !settings.deletedAt) yield member("settings") + json(localSettings(settings));
  yield "}}";
}

/** The rows of `pages` written with `write`, comma-separated, one piece per page. */
async function* list<T>(pages: AsyncIterable<T[]>, write: (row: T) => string) {
  let first = true;
  for await (const page of pages) {
    if (page.length === 0) continue;
    yield `${first ? "" : ","}${page.map(write).join(",")}`;
    first = false;
  }
}

type PageReader = ReturnType<typeof pageReader>;

function pageReader(db: Db, userId: string, pageSize: number) {
  async function* groupPages(): AsyncGenerator<GroupRow[]> {
    let after: string | undefined;
    for (;;) {
      const page = await db.promptGroup.findMany({
        where: { userId, deletedAt: null, ...(after !== undefined && { id: { gt: after } }) },
        select: groupSelect,
        orderBy: { id: "asc" },
        take: Math.min(pageSize, GROUP_PAGE_SIZE),
      });
      if (page.length > 0) yield page;
      if (page.length < Math.min(pageSize, GROUP_PAGE_SIZE)) return;
      after = page.at(-1)!.id;
    }
  }
  return {
    settings: (): Promise<SettingsRow | null> =>
      db.userSettings.findUnique({ where: { userId }, select: settingsSelect }),
    groupPages,
    async *groups(): AsyncGenerator<GroupRow> {
      for await (const page of groupPages()) yield* page;
    },
    /** The live versions of `groupIds`, in pages, by group then number. */
    async *versions(groupIds: string[]): AsyncGenerator<VersionRow[]> {
      let after: { groupId: string; number: number } | undefined;
      for (;;) {
        const page = await db.promptVersion.findMany({
          where: {
            userId,
            groupId: { in: groupIds },
            deletedAt: null,
            ...(after && {
              OR: [{ groupId: after.groupId, number: { gt: after.number } }, { groupId: { gt: after.groupId } }],
            }),
          },
          select: versionSelect,
          orderBy: [{ groupId: "asc" }, { number: "asc" }],
          take: pageSize,
        });
        if (page.length > 0) yield page;
        if (page.length < pageSize) return;
        const last = page.at(-1)!;
        after = { groupId: last.groupId, number: last.number };
      }
    },
    async *templates(): AsyncGenerator<TemplateRow[]> {
      let after: string | undefined;
      for (;;) {
        const page = await db.template.findMany({
          where: { userId, deletedAt: null, ...(after !== undefined && { id: { gt: after } }) },
          select: templateSelect,
          orderBy: { id: "asc" },
          take: pageSize,
        });
        if (page.length > 0) yield page;
        if (page.length < pageSize) return;
        after = page.at(-1)!.id;
      }
    },
  };
}

/** Dates as ISO strings, the rest as it is. */
function iso<T extends object>(row: T): { [K in keyof T]: T[K] extends Date ? string : T[K] } {
  return Object.fromEntries(
    Object.entries(row).map(([key, value]) => [key, value instanceof Date ? value.toISOString() : value]),
  ) as { [K in keyof T]: T[K] extends Date ? string : T[K] };
}

function withoutDeletedAt<T extends { deletedAt: Date | null }>(row: T): Omit<T, "deletedAt"> {
  const { deletedAt: _deletedAt, ...rest } = row;
  return rest;
}

type LocalHistory = LocalExportData["history"];

function localGroup(group: GroupRow): LocalHistory["groups"][string] {
  return {
    id: group.id,
    originalPrompt: group.originalPrompt,
    currentVersionNumber: group.currentVersionNumber,
    status: group.status,
    createdAt: group.createdAt.getTime(),
    updatedAt: group.updatedAt.getTime(),
  };
}

/** The app's PromptVersion: optional fields absent rather than null, times in epoch ms. */
function localVersion(version: VersionRow): LocalHistory["versions"][string][number] {
  return {
    id: version.id,
    groupId: version.groupId,
    number: version.number,
    originalPrompt: version.originalPrompt,
    optimizedPrompt: version.optimizedPrompt,
    ...(version.reasoning !== null && { reasoning: version.reasoning }),
    ...(version.iterationDirection !== null && { iterationDirection: version.iterationDirection }),
    modelId: version.modelId,
    provider: version.provider,
    modelName: version.modelName,
    status: version.status,
    timestamp: version.timestamp.getTime(),
    ...(version.favorite && { favorite: true }),
    ...(version.tags.length > 0 && { tags: version.tags }),
  };
}

/**
 * The app's Template: its metadata as stored (less the import's bookkeeping `importedFrom`), with the
 * description and type the server keeps in columns. `isPublic` and `tags` have no place in the app's shape.
 */
function localTemplate(template: TemplateRow): LocalExportData["templates"][string] {
  const stored = isObject(template.metadata) ? template.metadata : {};
  const { importedFrom: _importedFrom, ...metadata } = stored;
  return {
    id: template.id,
    name: template.name,
    content: template.content,
    metadata: {
      ...metadata,
      lastModified: template.updatedAt.getTime(),
      ...(template.description !== null && { description: template.description }),
      ...(template.category !== null && { templateType: template.category }),
    },
    createdAt: template.createdAt.getTime(),
    updatedAt: template.updatedAt.getTime(),
  };
}

/** The app's settings keys: settingsData's own (model-settings, selectedTemplateId…), theme and language. */
function localSettings(settings: { theme: string; language: string; settingsData: unknown }): Record<string, unknown> {
  return {
    ...(isObject(settings.settingsData) ? settings.settingsData : {}),
    "my-app-theme": settings.theme,
    i18nextLng: settings.language,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
