// account.export on a real database: the documents parse, hold every live row of the user and nothing else,
// and the local format imported into a new account gives the same rows.
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { exportDocument } from "../src/account/export.ts";
import {
  zFullExport,
  zLocalExport,
  type ExportFormat,
  type FullExport,
  type LocalExport,
} from "../src/account/schemas.ts";
import { userCaller } from "./support/context.ts";
import { generatedHistory } from "./support/import-payload.ts";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.dispose());

type Caller = Awaited<ReturnType<typeof userCaller>>["caller"];

async function exportText(caller: Caller, format?: ExportFormat): Promise<string> {
  let text = "";
  for await (const piece of await caller.account.export(format ? { format } : undefined)) text += piece;
  return text;
}

const b64 = (bytes: number) => randomBytes(bytes).toString("base64");

/** A user with history (imported and made online), templates, settings, a vault and tombstones of each kind. */
async function seededUser(tag: string) {
  const owner = await userCaller(t.db);
  const { caller } = owner;
  await caller.import.localData({
    history: generatedHistory(7, 3, tag),
    templates: {
      [`${tag}-custom`]: {
        id: `${tag}-custom`,
        name: `Custom ${tag}`,
        content: `Rewrite the prompt (${tag})`,
        metadata: { version: "1.0", lastModified: 1_760_000_000_000, author: "me", templateType: "optimize" },
      },
    },
    settings: {
      "model-settings": { state: { activeModel: "openai", configs: {}, customInterfaces: [] }, version: 0 },
      "my-app-theme": "dark",
      i18nextLng: "zh-CN",
      selectedTemplateId: `${tag}-custom`,
    },
  });
  const online = await caller.prompts.create({
    originalPrompt: `Online prompt ${tag}`,
    firstVersion: { optimizedPrompt: `Optimised ${tag}`, modelId: "openai", provider: "OpenAI", modelName: "gpt-4o" },
  });
  await caller.prompts.addVersion({
    groupId: online.id,
    optimizedPrompt: `Iterated ${tag}`,
    iterationDirection: "shorter",
    reasoning: "asked",
    modelId: "openai",
    provider: "OpenAI",
    modelName: "gpt-4o",
  });
  await caller.templates.create({
    name: `Tagged ${tag}`,
    content: `Tagged content ${tag}`,
    description: "with tags",
    tags: ["a", "b"],
    isPublic: true,
  });
  const gone = await caller.templates.create({ name: `Gone ${tag}`, content: "deleted" });
  await caller.templates.delete({ id: gone.id });
  const doomed = await caller.prompts.create({
    originalPrompt: `Deleted prompt ${tag}`,
    firstVersion: { optimizedPrompt: "x", modelId: "m", provider: "p", modelName: "n" },
  });
  await caller.prompts.delete({ id: doomed.id });
  // A version tombstone (no procedure deletes a single version; sync keeps such rows).
  const hidden = await t.db.prisma.promptVersion.findFirstOrThrow({
    where: { userId: owner.user.id, groupId: online.id, number: 1 },
  });
  await t.db.prisma.promptVersion.update({ where: { id: hidden.id }, data: { deletedAt: new Date() } });

  await caller.vault.setup({
    kdf: "PBKDF2-SHA-256",
    kdfIterations: 600_000,
    kdfSalt: b64(16),
    wrappedKey: b64(48),
    wrapIv: b64(12),
    verifier: b64(32),
    keyVersion: 1,
  });
  for (const provider of ["openai", "gemini"]) {
    await caller.vault.putEntry({
      id: randomUUID(),
      provider,
      ciphertext: b64(80),
      iv: b64(12),
      version: 1,
      keyVersion: 1,
    });
  }
  const dropped = await caller.vault.putEntry({
    id: randomUUID(),
    provider: "deepseek",
    ciphertext: b64(80),
    iv: b64(12),
    version: 1,
    keyVersion: 1,
  });
  await caller.vault.deleteEntry({ id: dropped.id, version: 2 });
  return { ...owner, hiddenVersionId: hidden.id };
}

/** The user's live rows, as the database holds them. */
async function liveRows(userId: string) {
  const db = t.db.prisma;
  const live = { userId, deletedAt: null };
  return {
    groups: await db.promptGroup.findMany({ where: live, orderBy: { id: "asc" } }),
    versions: await db.promptVersion.findMany({ where: live, orderBy: [{ groupId: "asc" }, { number: "asc" }] }),
    templates: await db.template.findMany({ where: live, orderBy: { id: "asc" } }),
    settings: await db.userSettings.findUnique({ where: { userId } }),
    vaultEntries: await db.vaultEntry.findMany({ where: live, orderBy: { provider: "asc" } }),
    vaultKey: await db.vaultKey.findUnique({ where: { userId } }),
  };
}

/** What a row means to its owner: its content, without ids, revisions or owner. */
function groupContent(
  groups: {
    id: string;
    originalPrompt: string;
    status: string;
    currentVersionNumber: number;
    createdAt: Date;
    updatedAt: Date;
  }[],
  versions: {
    groupId: string;
    number: number;
    originalPrompt: string;
    optimizedPrompt: string;
    reasoning: string | null;
    iterationDirection: string | null;
    modelId: string;
    provider: string;
    modelName: string;
    status: string;
    favorite: boolean;
    tags: string[];
    timestamp: Date;
  }[],
) {
  return groups
    .map((group) => ({
      originalPrompt: group.originalPrompt,
      status: group.status,
      currentVersionNumber: group.currentVersionNumber,
      createdAt: group.createdAt.getTime(),
      updatedAt: group.updatedAt.getTime(),
      versions: versions
        .filter((version) => version.groupId === group.id)
        .map(({ groupId: _g, timestamp, ...version }) => ({
          number: version.number,
          originalPrompt: version.originalPrompt,
          optimizedPrompt: version.optimizedPrompt,
          reasoning: version.reasoning,
          iterationDirection: version.iterationDirection,
          modelId: version.modelId,
          provider: version.provider,
          modelName: version.modelName,
          status: version.status,
          favorite: version.favorite,
          tags: version.tags,
          timestamp: timestamp.getTime(),
        })),
    }))
    .sort((a, b) => a.createdAt - b.createdAt || a.originalPrompt.localeCompare(b.originalPrompt));
}

function templateContent(
  templates: {
    name: string;
    content: string;
    description: string | null;
    category: string | null;
    metadata: unknown;
  }[],
) {
  return templates
    .map(({ name, content, description, category, metadata }) => {
      // The import's bookkeeping; the app's lastModified, description and templateType, which the local format
      // writes into metadata from updatedAt and the columns (compared here as columns).
      const {
        importedFrom: _i,
        lastModified: _l,
        description: _d,
        templateType: _t,
        ...rest
      } = metadata as Record<string, unknown>;
      return { name, content, description, category, metadata: rest };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

describe("account.export, full format", () => {
  it("holds every live row of the user, nothing of another user's, no tombstone, the vault as stored", async () => {
    const owner = await seededUser(`f${randomUUID().slice(0, 6)}`);
    const other = await seededUser(`o${randomUUID().slice(0, 6)}`);
    const text = await exportText(owner.caller);
    const document: FullExport = zFullExport.parse(JSON.parse(text));
    const rows = await liveRows(owner.user.id);

    expect(document.user).toMatchObject({ id: owner.user.id, email: owner.user.email, username: owner.user.username });
    expect(document.promptGroups.map((group) => group.id)).toEqual(rows.groups.map((group) => group.id));
    expect(document.promptGroups.flatMap((group) => group.versions.map((version) => version.id))).toEqual(
      rows.versions.map((version) => version.id),
    );
    expect(rows.groups).toHaveLength(8);
    expect(text).not.toContain(owner.hiddenVersionId);
    expect(text).not.toContain("Deleted prompt");
    expect(text).not.toContain("Gone ");
    expect(document.templates.map((template) => template.id)).toEqual(rows.templates.map((template) => template.id));
    expect(document.templates.find((template) => template.isPublic)?.tags).toEqual(["a", "b"]);
    expect(document.settings).toMatchObject({ theme: "dark", language: "zh-CN", defaultModel: "openai" });
    expect(document.settings?.settingsData).toEqual(rows.settings?.settingsData);

    expect(document.vault.key).toMatchObject({
      kdfSalt: rows.vaultKey!.kdfSalt,
      wrappedKey: rows.vaultKey!.wrappedKey,
      verifier: rows.vaultKey!.verifier,
    });
    expect(document.vault.entries).toEqual(
      rows.vaultEntries.map((entry) => ({
        id: entry.id,
        provider: entry.provider,
        ciphertext: entry.ciphertext,
        iv: entry.iv,
        version: entry.version,
        createdAt: entry.createdAt.toISOString(),
        updatedAt: entry.updatedAt.toISOString(),
      })),
    );
    expect(document.identities).toEqual([]);

    // Nothing of the other user's: no id, no text.
    const theirs = await liveRows(other.user.id);
    for (const id of [...theirs.groups, ...theirs.versions, ...theirs.templates, ...theirs.vaultEntries].map(
      (r) => r.id,
    )) {
      expect(text).not.toContain(id);
    }
    expect(text).not.toContain(other.user.email);
  });

  it("writes the same document in pages of any size", async () => {
    const { user } = await seededUser(`p${randomUUID().slice(0, 6)}`);
    const now = new Date("2026-03-01T00:00:00Z");
    const whole = async (format: ExportFormat, pageSize: number) => {
      let text = "";
      for await (const piece of exportDocument(t.db.prisma, user.id, { format, now, pageSize })) text += piece;
      return text;
    };
    for (const format of ["full", "local"] as const) {
      const reference = await whole(format, 500);
      expect(JSON.parse(reference)).toBeTruthy();
      expect(await whole(format, 1)).toBe(reference);
      expect(await whole(format, 2)).toBe(reference);
    }
  });

  it("exports an account with nothing in it", async () => {
    const { caller, user } = await userCaller(t.db);
    const document = zFullExport.parse(JSON.parse(await exportText(caller, "full")));
    expect(document).toMatchObject({ settings: null, templates: [], promptGroups: [], identities: [] });
    expect(document.vault).toEqual({ key: null, entries: [] });
    expect(document.user.id).toBe(user.id);
    const local = zLocalExport.parse(JSON.parse(await exportText(caller, "local")));
    expect(local.data).toEqual({
      history: { groups: {}, versions: {}, activeGroupId: null, activeVersionNumber: null },
      templates: {},
    });
  });
});

describe("account.export, local format", () => {
  it("is the app's shapes: imported into a new account it gives the same rows, and exports the same again", async () => {
    const owner = await seededUser(`l${randomUUID().slice(0, 6)}`);
    const local: LocalExport = zLocalExport.parse(JSON.parse(await exportText(owner.caller, "local")));
    expect(local.format).toBe("prompt-booster-local");
    // Optional fields of the app's shapes are absent, not null.
    const someVersion = Object.values(local.data.history.versions).flat()[0]!;
    expect(Object.values(someVersion)).not.toContain(null);

    const copy = await userCaller(t.db);
    const answer = await copy.caller.import.localData(local.data);
    expect(answer.errors).toEqual([]);
    expect(answer.skipped).toEqual([]);
    const before = await liveRows(owner.user.id);
    const after = await liveRows(copy.user.id);
    expect(answer.imported).toEqual({
      promptGroups: before.groups.length,
      promptVersions: before.versions.length,
      templates: before.templates.length,
      settings: 1,
    });
    expect(groupContent(after.groups, after.versions)).toEqual(groupContent(before.groups, before.versions));
    expect(templateContent(after.templates)).toEqual(templateContent(before.templates));
    const settingsOf = (row: typeof before.settings) =>
      row && {
        theme: row.theme,
        language: row.language,
        defaultModel: row.defaultModel,
        settingsData: row.settingsData,
      };
    expect(settingsOf(after.settings)).toEqual(settingsOf(before.settings));

    // The copy's own local export is the first one with the copy's ids: the shapes survive the import unchanged.
    const again: LocalExport = zLocalExport.parse(JSON.parse(await exportText(copy.caller, "local")));
    const withoutIds = (data: LocalExport["data"]) => ({
      groups: Object.values(data.history.groups)
        .map(({ id: _id, ...group }) => group)
        .sort((a, b) => a.createdAt - b.createdAt || a.originalPrompt.localeCompare(b.originalPrompt)),
      versions: Object.values(data.history.versions)
        .flat()
        .map(({ id: _id, groupId: _g, ...version }) => version)
        .sort((a, b) => a.timestamp - b.timestamp || a.optimizedPrompt.localeCompare(b.optimizedPrompt)),
      templates: Object.values(data.templates)
        .map(({ id: _id, ...template }) => template)
        .sort((a, b) => a.name.localeCompare(b.name)),
      settings: data.settings,
    });
    expect(withoutIds(again.data)).toEqual(withoutIds(local.data));
    // Imported again into the same account, it is all there already.
    const repeat = await copy.caller.import.localData(again.data);
    expect(repeat.errors).toEqual([]);
  });

  it("round-trips the full format's rows through the local format (the full format has no importer)", async () => {
    const owner = await seededUser(`r${randomUUID().slice(0, 6)}`);
    const full = zFullExport.parse(JSON.parse(await exportText(owner.caller, "full")));
    const local = zLocalExport.parse(JSON.parse(await exportText(owner.caller, "local")));
    const copy = await userCaller(t.db);
    await copy.caller.import.localData(local.data);
    const copied = zFullExport.parse(JSON.parse(await exportText(copy.caller, "full")));

    const history = (document: FullExport) =>
      groupContent(
        document.promptGroups.map((group) => ({
          ...group,
          createdAt: new Date(group.createdAt),
          updatedAt: new Date(group.updatedAt),
        })),
        document.promptGroups.flatMap((group) =>
          group.versions.map((version) => ({ ...version, groupId: group.id, timestamp: new Date(version.timestamp) })),
        ),
      );
    expect(history(copied)).toEqual(history(full));
    expect(templateContent(copied.templates)).toEqual(templateContent(full.templates));
    const { createdAt: _c1, updatedAt: _u1, ...settings } = full.settings!;
    const { createdAt: _c2, updatedAt: _u2, ...copiedSettings } = copied.settings!;
    expect(copiedSettings).toEqual(settings);
    // What the app's shapes cannot carry: a template's tags and sharing, and the vault (bound to its account).
    expect(copied.vault).toEqual({ key: null, entries: [] });
  });
});
