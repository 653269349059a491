// The vault's cryptography on its own (WebCrypto in Node): every way a ciphertext may be tampered with,
// moved or replayed fails with an error that says so, and a wrong passphrase is told apart from tampering.
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";

import {
  createVaultKey,
  decryptEntry,
  encodeAad,
  encryptEntry,
  fromBase64,
  rewrapVaultKey,
  toBase64,
  unlockVaultKey,
  uuidV5,
  vaultEntryId,
  type EntryAddress,
  type KeyMaterial,
  type VaultCryptoKey,
} from "../src/vault/crypto.ts";
import { VaultIntegrityError, VaultPassphraseError } from "../src/vault/errors.ts";

const userId = randomUUID();
const passphrase = "correct horse battery staple";
const secret = "sk-EXAMPLE-openai-key-not-real";

let material: KeyMaterial;
let vaultKey: VaultCryptoKey;
let at: EntryAddress;

beforeAll(async () => {
  ({ material, vaultKey } = await createVaultKey(passphrase, userId, 1));
  at = { userId, entryId: await vaultEntryId(userId, "openai"), provider: "openai", version: 1 };
});

/** The same base64 with one bit of byte `index` flipped. */
function flipBit(base64: string, index = 0): string {
  const bytes = fromBase64(base64);
  bytes[index] = bytes[index]! ^ 0x01;
  return toBase64(bytes);
}

async function expectIntegrityError(call: Promise<unknown>, subject: RegExp) {
  const error = await call.then(
    () => {
      throw new Error("expected a VaultIntegrityError, got a result");
    },
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(VaultIntegrityError);
  expect(error).not.toBeInstanceOf(VaultPassphraseError);
  expect((error as Error).message).toMatch(subject);
  return error as VaultIntegrityError;
}

describe("vault cryptography", () => {
  it("round-trips a secret, with a fresh IV for every write and padded lengths", async () => {
    const first = await encryptEntry(vaultKey, at, secret);
    const second = await encryptEntry(vaultKey, at, secret);
    expect(first.iv).not.toBe(second.iv);
    expect(first.ciphertext).not.toBe(second.ciphertext);
    expect(fromBase64(first.iv)).toHaveLength(12);
    expect(await decryptEntry(vaultKey, at, first)).toBe(secret);
    expect(await decryptEntry(vaultKey, at, second)).toBe(secret);
    // The ciphertext does not tell a short key from a longer one.
    const short = await encryptEntry(vaultKey, at, "sk-1");
    expect(fromBase64(short.ciphertext)).toHaveLength(fromBase64(first.ciphertext).length);
    expect(await decryptEntry(vaultKey, at, { ...(await encryptEntry(vaultKey, at, "")) })).toBe("");
    const unicode = "ключ-🔑-密钥";
    expect(await decryptEntry(vaultKey, at, await encryptEntry(vaultKey, at, unicode))).toBe(unicode);
    await expect(encryptEntry(vaultKey, at, "x".repeat(4097))).rejects.toThrow(RangeError);
  });

  it("refuses a tampered ciphertext, naming the entry", async () => {
    const sealed = await encryptEntry(vaultKey, at, secret);
    const error = await expectIntegrityError(
      decryptEntry(vaultKey, at, { ...sealed, ciphertext: flipBit(sealed.ciphertext, 5) }),
      /entry openai/,
    );
    expect(error).toMatchObject({ provider: "openai", entryId: at.entryId });
    // The tag too, and a truncated ciphertext.
    const bytes = fromBase64(sealed.ciphertext);
    await expectIntegrityError(
      decryptEntry(vaultKey, at, { ...sealed, ciphertext: flipBit(sealed.ciphertext, bytes.length - 1) }),
      /entry openai/,
    );
    await expectIntegrityError(
      decryptEntry(vaultKey, at, { ...sealed, ciphertext: toBase64(bytes.subarray(0, bytes.length - 1)) }),
      /entry openai/,
    );
  });

  it("refuses a swapped IV", async () => {
    const one = await encryptEntry(vaultKey, at, secret);
    const other = await encryptEntry(vaultKey, at, "sk-other");
    await expectIntegrityError(decryptEntry(vaultKey, at, { ...one, iv: other.iv }), /entry openai/);
    await expectIntegrityError(decryptEntry(vaultKey, at, { ...one, iv: flipBit(one.iv) }), /entry openai/);
    await expectIntegrityError(decryptEntry(vaultKey, at, { ...one, iv: toBase64(new Uint8Array(16)) }), /openai/);
  });

  it("refuses a ciphertext copied to another entry, provider or user, and an older version replayed", async () => {
    const sealed = await encryptEntry(vaultKey, at, secret);
    const elsewhere: EntryAddress[] = [
      { ...at, entryId: await vaultEntryId(userId, "gemini"), provider: "gemini" },
      { ...at, entryId: randomUUID() },
      { ...at, provider: "gemini" },
      { ...at, userId: randomUUID() },
      // Version 1's ciphertext in the row of version 2: a rollback of the content.
      { ...at, version: 2 },
    ];
    for (const address of elsewhere) {
      await expectIntegrityError(decryptEntry(vaultKey, address, sealed), new RegExp(address.provider));
    }
    // Another user's vault key cannot read it either.
    const other = await createVaultKey(passphrase, randomUUID(), 1);
    await expectIntegrityError(decryptEntry(other.vaultKey, at, sealed), /entry openai/);
  });

  it("tells a wrong passphrase apart from a tampered key row", async () => {
    expect(await decryptEntry(await unlockVaultKey(passphrase, userId, 1, material), at, await encrypted())).toBe(
      secret,
    );
    await expect(unlockVaultKey("correct horse battery stapler", userId, 1, material)).rejects.toBeInstanceOf(
      VaultPassphraseError,
    );
    await expect(unlockVaultKey("", userId, 1, material)).rejects.toThrow(/Wrong passphrase/);
    const tampered: [Partial<KeyMaterial>, RegExp][] = [
      [{ wrappedKey: flipBit(material.wrappedKey) }, /vault key/],
      [{ wrapIv: flipBit(material.wrapIv) }, /vault key/],
      [{ verifier: flipBit(material.verifier) }, /verifier was changed/],
      // A KDF downgrade: the device refuses before deriving anything.
      [{ kdfIterations: 1_000 }, /iterations/],
    ];
    for (const [change, reason] of tampered) {
      await expectIntegrityError(unlockVaultKey(passphrase, userId, 1, { ...material, ...change }), reason);
    }
    // The wrapped key is bound to its user and key version.
    await expectIntegrityError(unlockVaultKey(passphrase, randomUUID(), 1, material), /vault key/);
    await expectIntegrityError(unlockVaultKey(passphrase, userId, 2, material), /vault key/);
  });

  it("rewraps the same vault key under a new passphrase; the old one no longer opens it", async () => {
    const sealed = await encrypted();
    const next = await rewrapVaultKey(passphrase, "a brand new passphrase", userId, 1, material);
    expect(next.kdfSalt).not.toBe(material.kdfSalt);
    const reopened = await unlockVaultKey("a brand new passphrase", userId, 2, next);
    expect(await decryptEntry(reopened, at, sealed)).toBe(secret);
    await expect(unlockVaultKey(passphrase, userId, 2, next)).rejects.toBeInstanceOf(VaultPassphraseError);
    await expect(rewrapVaultKey("not the passphrase", "x".repeat(10), userId, 1, material)).rejects.toBeInstanceOf(
      VaultPassphraseError,
    );
  });

  it("encodes associated data unambiguously, and entry ids the same way on every device", async () => {
    expect(encodeAad("vault-entry", ["ab", "c"])).not.toEqual(encodeAad("vault-entry", ["a", "bc"]));
    expect(encodeAad("vault-entry", ["a", 1])).not.toEqual(encodeAad("vault-key", ["a", 1]));
    expect(encodeAad("vault-key", [userId, 1])[0]).toBe(1);
    const id = await vaultEntryId(userId, "openai");
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await vaultEntryId(userId, "openai")).toBe(id);
    expect(await vaultEntryId(userId, "gemini")).not.toBe(id);
    expect(await vaultEntryId(randomUUID(), "openai")).not.toBe(id);
    // RFC 9562's own example (appendix A.4): "www.example.com" in the DNS namespace.
    expect(await uuidV5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.example.com")).toBe(
      "2ed6657d-e927-568b-95e1-2665a8aea6a2",
    );
  });
});

function encrypted() {
  return encryptEntry(vaultKey, at, secret);
}
