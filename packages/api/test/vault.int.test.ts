// The key vault's procedures on a real database. The server never decrypts, so random bytes stand in for
// the ciphertexts a device makes (packages/client/test/vault*.test.ts covers the cryptography).
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";

import { hashPassword } from "../src/auth/password.ts";
import { VAULT_CIPHERTEXT_MAX_BYTES, VAULT_MAX_ENTRIES } from "../src/vault/schemas.ts";
import { userCaller } from "./support/context.ts";
import { expectAppError } from "./support/errors.ts";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.dispose());

const b64 = (bytes: number) => randomBytes(bytes).toString("base64");

const material = () => ({
  kdf: "PBKDF2-SHA-256" as const,
  kdfIterations: 600_000,
  kdfSalt: b64(16),
  wrappedKey: b64(48),
  wrapIv: b64(12),
  verifier: b64(32),
});

const entry = (provider: string, version = 1, id: string = randomUUID(), keyVersion = 1) => ({
  id,
  provider,
  ciphertext: b64(80),
  iv: b64(12),
  version,
  keyVersion,
});

/** A user with a real password (for reset) and a vault set up. */
async function withVault() {
  const password = `vault owner ${randomUUID()}`;
  const signedIn = await userCaller(t.db);
  await t.db.prisma.user.update({
    where: { id: signedIn.user.id },
    data: { hashedPassword: await hashPassword(password) },
  });
  const key = await signedIn.caller.vault.setup({ ...material(), keyVersion: 1 });
  return { ...signedIn, password, key };
}

describe("vault", () => {
  it("sets up a vault once; a second setup is CONFLICT with the key that exists", async () => {
    const { caller } = await userCaller(t.db);
    expect(await caller.vault.get()).toEqual({ key: null, keyVersion: 0, entries: [], deleted: [] });
    const first = material();
    const key = await caller.vault.setup({ ...first, keyVersion: 1 });
    expect(key).toMatchObject({ ...first, keyVersion: 1 });
    const error = await expectAppError(caller.vault.setup({ ...material(), keyVersion: 1 }), "CONFLICT");
    expect(error.details?.current).toMatchObject({ wrappedKey: first.wrappedKey });
    expect((await caller.vault.get()).key).toEqual(key);
  });

  it("stores entries by version: the next version applies, any other is CONFLICT with the current one", async () => {
    const { caller } = await withVault();
    const first = await caller.vault.putEntry(entry("openai"));
    expect(first).toMatchObject({ provider: "openai", version: 1 });
    const second = await caller.vault.putEntry({ ...entry("openai", 2, first.id) });
    expect(second.rev).toBeGreaterThan(first.rev);
    // A replay of version 2, or a write based on version 1 (a device that missed version 2).
    for (const version of [2, 1, 4]) {
      const error = await expectAppError(caller.vault.putEntry(entry("openai", version, first.id)), "CONFLICT");
      expect(error.details?.current).toMatchObject({ id: first.id, version: 2, deleted: false });
    }
    // One row per provider: another id for the same provider is refused.
    await expectAppError(caller.vault.putEntry(entry("openai")), "CONFLICT");
    // An id holds one provider for good.
    await expectAppError(caller.vault.putEntry(entry("gemini", 3, first.id)), "CONFLICT");

    const deleted = await caller.vault.deleteEntry({ id: first.id, version: 3 });
    expect(deleted).toEqual({ id: first.id, deleted: true, version: 3, rev: expect.any(Number) });
    const vault = await caller.vault.get();
    expect(vault.entries).toEqual([]);
    expect(vault.deleted).toEqual([{ id: first.id, provider: "openai", version: 3 }]);
    const row = await t.db.prisma.vaultEntry.findUniqueOrThrow({ where: { id: first.id } });
    expect(row).toMatchObject({ ciphertext: null, iv: null, version: 3 });
    expect(row.deletedAt).toBeInstanceOf(Date);
    await expectAppError(caller.vault.deleteEntry({ id: first.id, version: 4 }), "NOT_FOUND");
    // Set again after the delete: the version goes on from the tombstone's.
    await expectAppError(caller.vault.putEntry(entry("openai", 1, first.id)), "CONFLICT");
    expect(await caller.vault.putEntry(entry("openai", 4, first.id))).toMatchObject({ version: 4 });
  });

  it("keeps entries of different providers written by different devices", async () => {
    const { caller } = await withVault();
    await caller.vault.putEntry(entry("openai"));
    await caller.vault.putEntry(entry("deepseek"));
    expect((await caller.vault.get()).entries.map((e) => e.provider)).toEqual(["deepseek", "openai"]);
  });

  it("rewraps the key at the next keyVersion only; entries stay as they are", async () => {
    const { caller, key } = await withVault();
    const stored = await caller.vault.putEntry(entry("openai"));
    const next = material();
    const rewrapped = await caller.vault.rewrap({ ...next, keyVersion: 2 });
    expect(rewrapped).toMatchObject({ ...next, keyVersion: 2, id: key.id });
    const error = await expectAppError(caller.vault.rewrap({ ...material(), keyVersion: 2 }), "CONFLICT");
    expect(error.details?.current).toMatchObject({ keyVersion: 2, wrappedKey: next.wrappedKey });
    expect((await caller.vault.get()).entries).toEqual([stored]);
  });

  it("needs a vault before entries, and a vault to rewrap", async () => {
    const { caller } = await userCaller(t.db);
    await expectAppError(caller.vault.putEntry(entry("openai")), "NOT_FOUND");
    await expectAppError(caller.vault.rewrap({ ...material(), keyVersion: 2 }), "NOT_FOUND");
  });

  it("keeps one user's vault from every other user", async () => {
    const alice = await withVault();
    const bob = await withVault();
    const secret = await alice.caller.vault.putEntry(entry("openai"));
    expect((await bob.caller.vault.get()).entries).toEqual([]);
    // Bob can neither overwrite nor delete Alice's entry, nor learn more than that the id is taken.
    await expectAppError(bob.caller.vault.putEntry(entry("openai", 2, secret.id)), "CONFLICT");
    await expectAppError(bob.caller.vault.deleteEntry({ id: secret.id, version: 2 }), "NOT_FOUND");
    await bob.caller.vault.reset({ password: bob.password });
    expect((await alice.caller.vault.get()).entries).toEqual([secret]);
    expect((await alice.caller.vault.get()).key).toEqual(alice.key);
  });

  it("refuses bad input: sizes, base64, KDF parameters, provider ids", async () => {
    const { caller } = await withVault();
    const cases: [Record<string, unknown>, string][] = [
      [{ kdfIterations: 100_000 }, "kdfIterations"],
      [{ kdfIterations: 50_000_000 }, "kdfIterations"],
      [{ kdf: "MD5" }, "kdf"],
      [{ kdfSalt: b64(8) }, "kdfSalt"],
      [{ wrappedKey: "not base64!" }, "wrappedKey"],
      [{ wrapIv: b64(16) }, "wrapIv"],
      [{ verifier: b64(31) }, "verifier"],
    ];
    for (const [change, field] of cases) {
      await expectAppError(caller.vault.rewrap({ ...material(), keyVersion: 2, ...change }), "BAD_REQUEST", field);
    }
    const entryCases: [Record<string, unknown>, string][] = [
      [{ ciphertext: b64(VAULT_CIPHERTEXT_MAX_BYTES + 1) }, "ciphertext"],
      [{ ciphertext: "" }, "ciphertext"],
      [{ iv: b64(8) }, "iv"],
      [{ provider: "" }, "provider"],
      [{ provider: "x".repeat(129) }, "provider"],
      [{ provider: "open ai" }, "provider"],
      [{ version: 0 }, "version"],
      [{ id: "openai" }, "id"],
      // No way to send a plaintext secret along.
      [{ secret: "sk-plain" }, ""],
    ];
    for (const [change, field] of entryCases) {
      const call = caller.vault.putEntry({ ...entry("openai"), ...change });
      await expectAppError(call, "BAD_REQUEST", field || undefined);
    }
    expect(await caller.vault.putEntry(entry("openai"))).toMatchObject({ version: 1 });
  });

  it(`holds at most ${VAULT_MAX_ENTRIES} live entries`, async () => {
    const { caller, user } = await withVault();
    await t.db.prisma.vaultEntry.createMany({
      data: Array.from({ length: VAULT_MAX_ENTRIES }, (_, index) => ({
        id: randomUUID(),
        userId: user.id,
        provider: `custom-${index}`,
        ciphertext: b64(80),
        iv: b64(12),
        version: 1,
        rev: 1,
      })),
    });
    await expectAppError(caller.vault.putEntry(entry("openai")), "BAD_REQUEST");
  });

  it("resets only with the account password, and leaves the rest of the account as it was", async () => {
    const { caller, password, user, key } = await withVault();
    const template = await caller.templates.create({ name: "Kept", content: "Kept across the reset" });
    const prompt = await caller.prompts.create({
      originalPrompt: "Kept too",
      firstVersion: { optimizedPrompt: "Kept, better", modelId: "openai", provider: "OpenAI", modelName: "gpt" },
    });
    await caller.settings.update({ theme: "dark" });
    const openai = await caller.vault.putEntry(entry("openai"));
    await caller.vault.putEntry(entry("gemini"));

    const wrong = await expectAppError(caller.vault.reset({ password: "not the password" }), "FORBIDDEN");
    expect(wrong.message).toMatch(/password/);
    expect((await caller.vault.get()).entries).toHaveLength(2);

    const reset = await caller.vault.reset({ password });
    expect(reset.entriesDeleted).toBe(2);
    expect(await caller.vault.get()).toMatchObject({ key: null, keyVersion: 1, entries: [] });
    const rows = await t.db.prisma.vaultEntry.findMany({ where: { userId: user.id } });
    expect(rows.every((row) => row.ciphertext === null && row.iv === null && row.rev === reset.rev)).toBe(true);
    const keyRow = await t.db.prisma.vaultKey.findUniqueOrThrow({ where: { userId: user.id } });
    expect(keyRow).toMatchObject({ wrappedKey: null, wrapIv: null, verifier: null, rev: reset.rev });
    await expectAppError(caller.vault.reset({ password }), "NOT_FOUND");

    expect(await caller.templates.get({ id: template.id })).toEqual(template);
    expect((await caller.prompts.get({ id: prompt.id })).versions).toHaveLength(1);
    expect((await caller.settings.get()).theme).toBe("dark");

    // A new vault after the reset: the next key version, and entries go on from their tombstones.
    await expectAppError(caller.vault.setup({ ...material(), keyVersion: 1 }), "CONFLICT");
    const renewed = await caller.vault.setup({ ...material(), keyVersion: 2 });
    expect(renewed).toMatchObject({ id: key.id, keyVersion: 2 });
    expect((await caller.vault.get()).deleted).toContainEqual({ id: openai.id, provider: "openai", version: 2 });
    // A write sealed under the old vault (key version 1) is refused: nobody could read it.
    const stale = await expectAppError(caller.vault.putEntry(entry("gemini")), "CONFLICT");
    expect(stale.details).toEqual({ keyVersion: 2 });
    expect(await caller.vault.putEntry(entry("openai", 3, openai.id, 2))).toMatchObject({ version: 3 });
  });

  it("keeps the vault as it is when the account password changes", async () => {
    const { caller, password } = await withVault();
    await caller.vault.putEntry(entry("openai"));
    const before = await caller.vault.get();
    await caller.auth.changePassword({ currentPassword: password, newPassword: `${password} changed` });
    expect(await caller.vault.get()).toEqual(before);
  });

  it("shows in sync.pull (ciphertext only, tombstones after deletes and a reset) and applies through sync.push", async () => {
    const { caller, password } = await withVault();
    const stored = await caller.vault.putEntry(entry("openai"));
    const pushed = await caller.sync.push({
      mutations: [
        { mutationId: randomUUID(), op: "vault.putEntry", input: entry("gemini") },
        { mutationId: randomUUID(), op: "vault.putEntry", input: entry("openai", 1, stored.id) },
        { mutationId: randomUUID(), op: "vault.deleteEntry", input: { id: stored.id, version: 2 } },
        { mutationId: randomUUID(), op: "vault.putEntry", input: { ...entry("x"), ciphertext: "plain text" } },
      ],
    });
    expect(pushed.results.map((result) => result.status)).toEqual(["applied", "conflict", "applied", "rejected"]);
    const conflict = pushed.results[1];
    expect(conflict?.status === "conflict" && conflict.current).toMatchObject({ entity: "vaultEntry", id: stored.id });

    const snapshot = await caller.sync.pull({});
    const entities = snapshot.changes.map((change) => change.entity);
    expect(entities.filter((entity) => entity.startsWith("vault")).sort()).toEqual(["vaultEntry", "vaultKey"]);
    const changes = await caller.sync.pull({ since: stored.rev - 1 });
    expect(changes.changes).toContainEqual({
      entity: "vaultEntry",
      id: stored.id,
      rev: expect.any(Number),
      deleted: true,
    });

    const reset = await caller.vault.reset({ password });
    const afterReset = await caller.sync.pull({ since: reset.rev - 1 });
    expect(afterReset.changes.map((change) => [change.entity, change.deleted])).toEqual([
      ["vaultKey", true],
      ["vaultEntry", true],
    ]);
  });

  it("takes a revision for every write, so sync tells the other devices", async () => {
    const { caller, user } = await withVault();
    const revision = async () =>
      (await t.db.prisma.user.findUniqueOrThrow({ where: { id: user.id }, select: { revision: true } })).revision;
    const start = await revision();
    const stored = await caller.vault.putEntry(entry("openai"));
    expect(stored.rev).toBe(start + 1);
    await caller.vault.rewrap({ ...material(), keyVersion: 2 });
    await caller.vault.deleteEntry({ id: stored.id, version: 2 });
    expect(await revision()).toBe(start + 3);
  });
});
