// The key vault end to end: a real server on this file's own database (PGlite, or PostgreSQL with
// TEST_DATABASE_URL) and real clients of one account on several devices, each doing its own cryptography.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  createClient,
  modelSettingsPatch,
  openVault,
  toModelSettings,
  VaultIntegrityError,
  VaultLockedError,
  VaultPassphraseError,
  VaultRollbackError,
  type ApiClient,
  type AppModelSettings,
  type SealedEntry,
  type TokenStore,
} from "@prompt-booster/client";

import { logIn, signUp, type SignedUp } from "./support/auth.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const fixedToken = (token: string): TokenStore => ({ get: () => token, set: () => {}, clear: () => {} });
const device = (token: string): ApiClient =>
  createClient({ url: t.url, auth: { mode: "bearer", tokens: fixedToken(token) } });

/** An account and two signed-in devices of it. */
async function account(): Promise<{ owner: SignedUp; laptop: ApiClient; phone: ApiClient }> {
  const owner = await signUp(t.url);
  const phoneToken = await logIn(t.url, owner.email, owner.password, "phone");
  return { owner, laptop: device(owner.token), phone: device(phoneToken) };
}

const keys = {
  openai: `sk-proj-${randomUUID()}`,
  deepseek: `sk-${randomUUID().replace(/-/g, "")}`,
  gemini: `AIza${randomUUID().replace(/-/g, "")}`,
  hunyuan: `hy-${randomUUID()}`,
};
const passphrase = `vault passphrase ${randomUUID().slice(0, 8)}`;

/** Every row of every table of the database, as text (the way a database thief would read it). */
async function dumpEveryTable(): Promise<string> {
  const { prisma } = t.testDb.db;
  const tables = await prisma.$queryRaw<{ name: string }[]>`
    SELECT table_schema || '.' || quote_ident(table_name) AS name FROM information_schema.tables
    WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'`;
  expect(tables.map((table) => table.name)).toEqual(expect.arrayContaining(['public."VaultEntry"']));
  const dumps = await Promise.all(
    tables.map(async ({ name }) => {
      const rows = await prisma.$queryRawUnsafe<{ row: string }[]>(`SELECT row_to_json(t)::text AS row FROM ${name} t`);
      return rows.map((row) => row.row).join("\n");
    }),
  );
  return dumps.join("\n");
}

async function failure(call: Promise<unknown>): Promise<Error> {
  return call.then(
    () => {
      throw new Error("expected a failure, got a result");
    },
    (error: unknown) => error as Error,
  );
}

describe("key vault, end to end", () => {
  it("stores keys the database cannot read; a second device reads them with the passphrase only", async () => {
    const { laptop, phone } = await account();
    const vault = await openVault(laptop, passphrase);
    await vault.set("openai", keys.openai);
    await vault.set("deepseek", keys.deepseek);
    expect(await vault.list()).toEqual(["deepseek", "openai"]);

    const dump = await dumpEveryTable();
    expect(dump).toContain("deepseek"); // the provider names are visible, the keys are not
    for (const secret of [keys.openai, keys.deepseek, passphrase]) {
      expect(dump).not.toContain(secret);
      expect(dump).not.toContain(Buffer.from(secret).toString("base64"));
    }

    const onPhone = await openVault(phone, passphrase);
    expect(await onPhone.get("openai")).toBe(keys.openai);
    expect(await onPhone.entries()).toEqual({ openai: keys.openai, deepseek: keys.deepseek });
    expect(await onPhone.get("gemini")).toBeUndefined();

    const wrong = await failure(openVault(phone, `${passphrase}!`));
    expect(wrong).toBeInstanceOf(VaultPassphraseError);
    expect(wrong.message).toMatch(/wrong passphrase/i);
  });

  it("puts the keys back into model-settings on devices with the passphrase; others sync the rest, keys missing", async () => {
    const { laptop, phone } = await account();
    // The app's model-settings, with keys typed on the laptop: the keys go to the vault, the rest to settings.
    const config = (id: string, apiKey: string) => ({ id, providerName: id, apiKey, model: "m", enabled: true });
    const modelSettings: AppModelSettings = {
      state: {
        activeModel: "openai",
        lastUpdate: 1_760_000_000_000,
        configs: { openai: config("openai", keys.openai), gemini: config("gemini", "") },
        customInterfaces: [config("mgrdx3k1q8z4n2v7c0a", keys.deepseek)],
      },
      version: 0,
    };
    const { settingsData, deviceKeys } = modelSettingsPatch(modelSettings);
    const vault = await openVault(laptop, passphrase);
    for (const [provider, secret] of Object.entries(deviceKeys)) await vault.set(provider, secret);
    await laptop.settings.update.mutate({ settingsData });
    await laptop.templates.create.mutate({ name: "Shared", content: "Synced without the vault" });

    // A device with the passphrase: the same model-settings as on the laptop, keys included.
    const settingsOnPhone = await phone.settings.get.query();
    const onPhone = await openVault(phone, passphrase);
    expect(toModelSettings(settingsOnPhone, await onPhone.entries())).toEqual(modelSettings);

    // A device without it: everything else arrives, the keys show as missing, the vault is ciphertext only.
    const pulled = await phone.sync.pull.query({});
    expect(pulled.changes.map((change) => change.entity)).toEqual(expect.arrayContaining(["settings", "template"]));
    const withoutKeys = toModelSettings(settingsOnPhone, {});
    expect(withoutKeys?.state.configs.openai?.apiKey).toBe("");
    expect(withoutKeys?.state.customInterfaces[0]?.apiKey).toBe("");
    const stored = await phone.vault.get.query();
    expect(stored.entries.map((entry) => entry.provider).sort()).toEqual(["mgrdx3k1q8z4n2v7c0a", "openai"]);
    for (const text of [JSON.stringify(pulled), JSON.stringify(stored)]) {
      expect(text).not.toContain(keys.openai);
      expect(text).not.toContain(keys.deepseek);
    }
  });

  it("keeps both of two providers added at once by two devices", async () => {
    const { laptop, phone } = await account();
    const onLaptop = await openVault(laptop, passphrase);
    const onPhone = await openVault(phone, passphrase);
    await Promise.all([onLaptop.set("gemini", keys.gemini), onPhone.set("hunyuan", keys.hunyuan)]);
    expect(await onLaptop.entries()).toEqual({ gemini: keys.gemini, hunyuan: keys.hunyuan });
    expect(await onPhone.entries()).toEqual({ gemini: keys.gemini, hunyuan: keys.hunyuan });

    // The same provider set on both at once: one write follows the other, nothing is lost or corrupted.
    await Promise.all([onLaptop.set("openai", "sk-from-laptop"), onPhone.set("openai", "sk-from-phone")]);
    expect(["sk-from-laptop", "sk-from-phone"]).toContain(await onLaptop.get("openai"));
    expect(await onPhone.get("openai")).toBe(await onLaptop.get("openai"));

    expect(await onPhone.delete("gemini")).toBe(true);
    expect(await onLaptop.list()).toEqual(["hunyuan", "openai"]);
    expect(await onLaptop.delete("gemini")).toBe(false);
  });

  it("syncs vault rows like the others: pulled as ciphertext, pushed from an offline queue by two devices", async () => {
    const { laptop, phone } = await account();
    const onLaptop = await openVault(laptop, passphrase);
    const onPhone = await openVault(phone, passphrase);
    // Offline: each device seals a different provider (and the same one) without seeing the other's writes.
    const fromLaptop = [await onLaptop.sealEntry("gemini", keys.gemini), await onLaptop.sealEntry("openai", "sk-l")];
    const fromPhone = [await onPhone.sealEntry("hunyuan", keys.hunyuan), await onPhone.sealEntry("openai", "sk-p")];
    const queue = (entries: SealedEntry[]) =>
      entries.map((input) => ({ mutationId: randomUUID(), op: "vault.putEntry", input }));
    const laptopQueue = queue(fromLaptop);
    const phoneQueue = queue(fromPhone);
    // Back online, the laptop pushes first, then the phone.
    const laptopPushed = await laptop.sync.push.mutate({ mutations: laptopQueue });
    expect(laptopPushed.results.map((result) => result.status)).toEqual(["applied", "applied"]);
    const phonePushed = await phone.sync.push.mutate({ mutations: phoneQueue });
    expect(phonePushed.results.map((result) => result.status)).toEqual(["applied", "conflict"]);
    // Resending a queue changes nothing: the answers are the recorded ones.
    expect((await phone.sync.push.mutate({ mutations: phoneQueue })).results).toEqual(phonePushed.results);

    // Different providers both survive; the same provider keeps the first write (the phone's got `conflict`).
    expect(await onPhone.entries()).toEqual({ gemini: keys.gemini, hunyuan: keys.hunyuan, openai: "sk-l" });
    expect(await onLaptop.entries()).toEqual({ gemini: keys.gemini, hunyuan: keys.hunyuan, openai: "sk-l" });

    // sync.pull carries the vault's rows, ciphertext only, and its deletes as tombstones.
    await onLaptop.delete("gemini");
    const pulled = await phone.sync.pull.query({ since: 0 });
    const vaultChanges = pulled.changes.filter((change) => change.entity.startsWith("vault"));
    expect(vaultChanges.map((change) => [change.entity, change.deleted])).toEqual(
      expect.arrayContaining([
        ["vaultKey", false],
        ["vaultEntry", false],
        ["vaultEntry", true],
      ]),
    );
    const text = JSON.stringify(pulled);
    for (const secret of [keys.gemini, keys.hunyuan, "sk-l", "sk-p", passphrase]) expect(text).not.toContain(secret);
  });

  it("after a passphrase change on one device, the other unlocks with the new passphrase only", async () => {
    const { laptop, phone } = await account();
    const onLaptop = await openVault(laptop, passphrase);
    await onLaptop.set("openai", keys.openai);
    const onPhone = await openVault(phone, passphrase);
    expect(await onPhone.get("openai")).toBe(keys.openai);

    await expect(onLaptop.changePassphrase("not the passphrase", "a new one entirely")).rejects.toBeInstanceOf(
      VaultPassphraseError,
    );
    await expect(onLaptop.changePassphrase(passphrase, "short")).rejects.toThrow(/at least 8 characters/);
    await onLaptop.changePassphrase(passphrase, "a new one entirely");
    expect(await onLaptop.get("openai")).toBe(keys.openai);

    // The phone's open vault locks; the old passphrase no longer opens it, the new one does.
    expect(await failure(onPhone.get("openai"))).toBeInstanceOf(VaultLockedError);
    expect(await failure(openVault(phone, passphrase))).toBeInstanceOf(VaultPassphraseError);
    const reopened = await openVault(phone, "a new one entirely");
    expect(await reopened.get("openai")).toBe(keys.openai);
  });

  it("refuses tampered, moved and replayed rows with a clear error", async () => {
    const { laptop, owner } = await account();
    const { prisma } = t.testDb.db;
    const vault = await openVault(laptop, passphrase);
    await vault.set("openai", keys.openai);
    const first = await prisma.vaultEntry.findFirstOrThrow({ where: { userId: owner.user.id, provider: "openai" } });
    await vault.set("openai", `${keys.openai}-rotated`);
    await vault.set("deepseek", keys.deepseek);
    const deepseek = await prisma.vaultEntry.findFirstOrThrow({
      where: { userId: owner.user.id, provider: "deepseek" },
    });
    const reader = await openVault(laptop, passphrase);
    const current = await prisma.vaultEntry.findUniqueOrThrow({ where: { id: first.id } });
    const restore = () => prisma.vaultEntry.update({ where: { id: first.id }, data: { ...current } });

    const cases: [string, Record<string, unknown>, new (...args: never[]) => Error][] = [
      ["a tampered ciphertext", { ciphertext: flip(current.ciphertext!) }, VaultIntegrityError],
      ["a swapped IV", { iv: deepseek.iv }, VaultIntegrityError],
      [
        "a ciphertext copied from another entry",
        { ciphertext: deepseek.ciphertext, iv: deepseek.iv },
        VaultIntegrityError,
      ],
      ["version 1's ciphertext under version 2", { ciphertext: first.ciphertext, iv: first.iv }, VaultIntegrityError],
      [
        "the whole row of version 1 replayed",
        { ciphertext: first.ciphertext, iv: first.iv, version: 1 },
        VaultRollbackError,
      ],
    ];
    for (const [what, change, expected] of cases) {
      await prisma.vaultEntry.update({ where: { id: first.id }, data: change });
      const error = await failure(reader.get("openai"));
      expect(error, what).toBeInstanceOf(expected);
      expect(error.message, what).toMatch(new RegExp(`entry openai \\(${first.id}\\)`));
      await restore();
    }
    expect(await reader.get("openai")).toBe(`${keys.openai}-rotated`);

    // Another user's row holding this user's ciphertext: their vault cannot decrypt it.
    const other = await account();
    const theirs = await openVault(other.laptop, passphrase);
    await theirs.set("openai", "sk-theirs");
    await prisma.vaultEntry.updateMany({
      where: { userId: other.owner.user.id, provider: "openai" },
      data: { ciphertext: current.ciphertext, iv: current.iv, version: current.version },
    });
    expect(await failure(theirs.get("openai"))).toBeInstanceOf(VaultIntegrityError);
  });

  it("resets with the account password only, leaving the rest of the account intact", async () => {
    const { laptop, phone, owner } = await account();
    const vault = await openVault(laptop, passphrase);
    await vault.set("openai", keys.openai);
    const template = await laptop.templates.create.mutate({ name: "Keep me", content: "Still here after the reset" });
    const onPhone = await openVault(phone, passphrase);

    expect((await failure(vault.reset("not the account password"))).message).toMatch(/password is not correct/);
    expect(await onPhone.get("openai")).toBe(keys.openai);

    await vault.reset(owner.password);
    expect(await failure(vault.get("openai"))).toBeInstanceOf(VaultLockedError);
    expect(await failure(onPhone.get("openai"))).toBeInstanceOf(VaultLockedError);
    expect(await laptop.templates.get.query({ id: template.id })).toEqual(template);
    expect((await phone.auth.me.query()).user.id).toBe(owner.user.id);

    // A new vault, with a new passphrase: the old keys are gone for good.
    const fresh = await openVault(phone, "a forgotten one replaced");
    expect(await fresh.list()).toEqual([]);
    await fresh.set("openai", keys.openai);
    expect(await (await openVault(laptop, "a forgotten one replaced")).get("openai")).toBe(keys.openai);
  });

  it("leaves the vault as it is when the account password changes", async () => {
    const { laptop, owner } = await account();
    const vault = await openVault(laptop, passphrase);
    await vault.set("openai", keys.openai);
    await laptop.auth.changePassword.mutate({ currentPassword: owner.password, newPassword: `${owner.password}-2` });
    expect(await vault.get("openai")).toBe(keys.openai);
    expect(await (await openVault(laptop, passphrase)).get("openai")).toBe(keys.openai);
  });
});

function flip(base64: string): string {
  const bytes = Buffer.from(base64, "base64");
  bytes[0] = bytes[0]! ^ 0x01;
  return bytes.toString("base64");
}
