// The vault's cryptography, with WebCrypto only (`globalThis.crypto.subtle`: browsers, Electron, Node >= 20).
//
//   passphrase ──PBKDF2-HMAC-SHA-256 (600,000 iterations, 16-byte random salt)──▶ 32-byte master secret
//   master ──HKDF-SHA-256 "…key-encryption key"──▶ KEK (AES-256-GCM, never leaves WebCrypto)
//   master ──HKDF-SHA-256 "…verifier"──▶ 32-byte verifier (stored: tells a wrong passphrase from tampering)
//   vault key: 32 random bytes, stored only wrapped: AES-256-GCM under the KEK, AAD (vault-key, user, keyVersion)
//   entry: AES-256-GCM under the vault key, fresh 96-bit IV per write, AAD (vault-entry, user, id, provider, version)
import { VaultIntegrityError, VaultPassphraseError } from "./errors.ts";

export const VAULT_KDF = "PBKDF2-SHA-256" as const;
/** OWASP's 2023 recommendation for PBKDF2-HMAC-SHA-256; the server refuses fewer. */
export const VAULT_KDF_ITERATIONS = 600_000;
/** The most a vault row may ask for: a hostile server must not be able to hang a device. */
export const VAULT_KDF_MAX_ITERATIONS = 10_000_000;
/** The longest secret an entry holds (UTF-8 bytes). */
export const VAULT_SECRET_MAX_BYTES = 4_096;

const SALT_BYTES = 16;
const IV_BYTES = 12;
const VERIFIER_BYTES = 32;
/** Plaintexts are padded to a multiple of this, so a ciphertext's length hides the key's exact length. */
const PAD_BLOCK = 64;
/** The version of the associated-data layout, first byte of every AAD. */
const AAD_FORMAT = 1;
const HKDF_KEK_INFO = "prompt-booster vault v1 key-encryption key";
const HKDF_VERIFIER_INFO = "prompt-booster vault v1 verifier";
/** UUIDv5 namespace of vault entry ids (a fixed random UUID of this project). */
const ENTRY_ID_NAMESPACE = "3f0c8a52-6d1e-4b7a-9c25-8e41d7f6b09a";

// WebCrypto's types as this runtime's own declarations have them (DOM in browsers, @types/node in Node).
type Subtle = typeof globalThis.crypto.subtle;
export type VaultCryptoKey = Awaited<ReturnType<Subtle["importKey"]>>;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function subtle(): Subtle {
  const webCrypto = globalThis.crypto as typeof globalThis.crypto | undefined;
  if (!webCrypto?.subtle) {
    throw new Error("The key vault needs WebCrypto (crypto.subtle): a secure context in browsers, Node >= 20");
  }
  return webCrypto.subtle;
}

export function randomBytes(length: number): Uint8Array<ArrayBuffer> {
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

/**
 * Associated data: a format byte, then each field as a 4-byte big-endian length and its UTF-8 bytes. Every
 * field has its length in front, so no two different field lists encode to the same bytes.
 */
export function encodeAad(purpose: "vault-key" | "vault-entry", fields: readonly (string | number)[]) {
  const parts = [purpose, ...fields].map((field) => encoder.encode(String(field)));
  const out = new Uint8Array(1 + parts.reduce((sum, part) => sum + 4 + part.length, 0));
  const view = new DataView(out.buffer);
  out[0] = AAD_FORMAT;
  let offset = 1;
  for (const part of parts) {
    view.setUint32(offset, part.length);
    out.set(part, offset + 4);
    offset += 4 + part.length;
  }
  return out;
}

/** Where an entry's ciphertext belongs: bound into its associated data. */
export interface EntryAddress {
  userId: string;
  entryId: string;
  provider: string;
  version: number;
}

const entryAad = (at: EntryAddress) => encodeAad("vault-entry", [at.userId, at.entryId, at.provider, at.version]);
const keyAad = (userId: string, keyVersion: number) => encodeAad("vault-key", [userId, keyVersion]);

/** The entry id of a provider: the same on every device of the user (UUIDv5 of user and provider). */
export function vaultEntryId(userId: string, provider: string): Promise<string> {
  // A user id is a UUID (no "/"), so the name never reads two ways.
  return uuidV5(ENTRY_ID_NAMESPACE, `${userId}/${provider}`);
}

/** RFC 9562 UUID version 5: SHA-1 of the namespace's bytes and the name's UTF-8. */
export async function uuidV5(namespace: string, name: string): Promise<string> {
  const namespaceBytes = Uint8Array.from(namespace.replace(/-/g, "").match(/../g)!, (hex) => parseInt(hex, 16));
  const nameBytes = encoder.encode(name);
  const input = new Uint8Array(namespaceBytes.length + nameBytes.length);
  input.set(namespaceBytes);
  input.set(nameBytes, namespaceBytes.length);
  const hash = new Uint8Array(await subtle().digest("SHA-1", input)).slice(0, 16);
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = Array.from(hash, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** How the key-encryption key is derived, as stored in the vault's key row. */
export interface KdfParams {
  kdf: typeof VAULT_KDF;
  kdfIterations: number;
  /** Base64 of the salt. */
  kdfSalt: string;
}

/** The key row's material, as stored by the server (base64 strings). */
export interface KeyMaterial extends KdfParams {
  wrappedKey: string;
  wrapIv: string;
  verifier: string;
}

interface PassphraseKeys {
  kek: VaultCryptoKey;
  verifier: Uint8Array;
}

/** The KEK and the verifier of a passphrase under the given parameters: the slow step (the KDF). */
async function derivePassphraseKeys(passphrase: string, params: KdfParams): Promise<PassphraseKeys> {
  if (params.kdf !== VAULT_KDF) throw new VaultIntegrityError("vault key", `unknown KDF ${String(params.kdf)}`);
  const iterations = params.kdfIterations;
  if (!Number.isInteger(iterations) || iterations < VAULT_KDF_ITERATIONS || iterations > VAULT_KDF_MAX_ITERATIONS) {
    // Fewer would weaken the vault (a downgrade); more could hang the device.
    throw new VaultIntegrityError("vault key", `KDF iterations ${iterations} are outside the accepted range`);
  }
  const crypto = subtle();
  // NFC: the same passphrase typed on another system's keyboard gives the same bytes.
  const base = await crypto.importKey("raw", encoder.encode(passphrase.normalize("NFC")), "PBKDF2", false, [
    "deriveBits",
  ]);
  const master = await crypto.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: fromBase64(params.kdfSalt), iterations },
    base,
    256,
  );
  const hkdf = await crypto.importKey("raw", master, "HKDF", false, ["deriveKey", "deriveBits"]);
  const hkdfParams = (info: string) => ({
    name: "HKDF",
    hash: "SHA-256",
    salt: new Uint8Array(),
    info: encoder.encode(info),
  });
  const kek = await crypto.deriveKey(hkdfParams(HKDF_KEK_INFO), hkdf, { name: "AES-GCM", length: 256 }, false, [
    "encrypt",
    "decrypt",
  ]);
  const verifier = new Uint8Array(await crypto.deriveBits(hkdfParams(HKDF_VERIFIER_INFO), hkdf, VERIFIER_BYTES * 8));
  return { kek, verifier };
}

/** Equal bytes, compared without an early exit. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let difference = a.length ^ b.length;
  for (let index = 0; index < Math.max(a.length, b.length); index++) difference |= (a[index] ?? 0) ^ (b[index] ?? 0);
  return difference === 0;
}

const importVaultKey = (raw: Uint8Array<ArrayBuffer>) =>
  subtle().importKey("raw", raw, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);

/** Wraps raw vault-key bytes under a new passphrase (fresh salt and IV). */
async function wrapRawKey(
  raw: Uint8Array<ArrayBuffer>,
  passphrase: string,
  userId: string,
  keyVersion: number,
  iterations: number,
): Promise<KeyMaterial> {
  const params: KdfParams = { kdf: VAULT_KDF, kdfIterations: iterations, kdfSalt: toBase64(randomBytes(SALT_BYTES)) };
  const { kek, verifier } = await derivePassphraseKeys(passphrase, params);
  const iv = randomBytes(IV_BYTES);
  const wrapped = await subtle().encrypt({ name: "AES-GCM", iv, additionalData: keyAad(userId, keyVersion) }, kek, raw);
  return {
    ...params,
    wrappedKey: toBase64(new Uint8Array(wrapped)),
    wrapIv: toBase64(iv),
    verifier: toBase64(verifier),
  };
}

/** The raw bytes of the vault key: checks the passphrase (verifier), then authenticates the wrapped key. */
async function unwrapRawKey(
  passphrase: string,
  userId: string,
  keyVersion: number,
  material: KeyMaterial,
): Promise<Uint8Array<ArrayBuffer>> {
  const { kek, verifier } = await derivePassphraseKeys(passphrase, material);
  const passphraseMatches = sameBytes(verifier, fromBase64(material.verifier));
  let raw: Uint8Array<ArrayBuffer> | null = null;
  try {
    const additionalData = keyAad(userId, keyVersion);
    const iv = fromBase64(material.wrapIv);
    raw = new Uint8Array(
      await subtle().decrypt({ name: "AES-GCM", iv, additionalData }, kek, fromBase64(material.wrappedKey)),
    );
  } catch {
    // Not authentic under this passphrase's key: a wrong passphrase, or (when the verifier says it is the
    // right one) a changed key row.
  }
  if (passphraseMatches && raw) return raw;
  raw?.fill(0);
  if (!passphraseMatches && !raw) throw new VaultPassphraseError();
  throw new VaultIntegrityError(
    "vault key",
    passphraseMatches
      ? "the wrapped key was changed, or moved from another user or key version"
      : "the verifier was changed",
  );
}

/** A new vault: a random vault key, wrapped under the passphrase. */
export async function createVaultKey(
  passphrase: string,
  userId: string,
  keyVersion: number,
  iterations = VAULT_KDF_ITERATIONS,
): Promise<{ material: KeyMaterial; vaultKey: VaultCryptoKey }> {
  const raw = randomBytes(32);
  try {
    const material = await wrapRawKey(raw, passphrase, userId, keyVersion, iterations);
    return { material, vaultKey: await importVaultKey(raw) };
  } finally {
    raw.fill(0);
  }
}

/** Opens the vault key (non-extractable). VaultPassphraseError for a wrong passphrase, VaultIntegrityError for tampering. */
export async function unlockVaultKey(
  passphrase: string,
  userId: string,
  keyVersion: number,
  material: KeyMaterial,
): Promise<VaultCryptoKey> {
  const raw = await unwrapRawKey(passphrase, userId, keyVersion, material);
  try {
    return await importVaultKey(raw);
  } finally {
    raw.fill(0);
  }
}

/** The same vault key wrapped under a new passphrase, for `keyVersion + 1`; the old passphrase must be right. */
export async function rewrapVaultKey(
  oldPassphrase: string,
  newPassphrase: string,
  userId: string,
  keyVersion: number,
  material: KeyMaterial,
  iterations = VAULT_KDF_ITERATIONS,
): Promise<KeyMaterial> {
  const raw = await unwrapRawKey(oldPassphrase, userId, keyVersion, material);
  try {
    return await wrapRawKey(raw, newPassphrase, userId, keyVersion + 1, iterations);
  } finally {
    raw.fill(0);
  }
}

function pad(secret: string): Uint8Array<ArrayBuffer> {
  const bytes = encoder.encode(secret);
  if (bytes.length > VAULT_SECRET_MAX_BYTES) {
    throw new RangeError(`A vault secret has at most ${VAULT_SECRET_MAX_BYTES} bytes (this one has ${bytes.length})`);
  }
  const out = new Uint8Array(Math.ceil((2 + bytes.length) / PAD_BLOCK) * PAD_BLOCK);
  new DataView(out.buffer).setUint16(0, bytes.length);
  out.set(bytes, 2);
  return out;
}

function unpad(padded: Uint8Array<ArrayBuffer>): string | null {
  if (padded.length < 2) return null;
  const length = new DataView(padded.buffer).getUint16(0);
  if (length > padded.length - 2) return null;
  try {
    return decoder.decode(padded.subarray(2, 2 + length));
  } catch {
    return null;
  }
}

/** Encrypts a secret for one entry at one version, with a fresh IV. */
export async function encryptEntry(
  vaultKey: VaultCryptoKey,
  at: EntryAddress,
  secret: string,
): Promise<{ ciphertext: string; iv: string }> {
  const iv = randomBytes(IV_BYTES);
  const plaintext = pad(secret);
  const sealed = await subtle().encrypt({ name: "AES-GCM", iv, additionalData: entryAad(at) }, vaultKey, plaintext);
  plaintext.fill(0);
  return { ciphertext: toBase64(new Uint8Array(sealed)), iv: toBase64(iv) };
}

/** Decrypts an entry; anything but the ciphertext made for exactly this address is a VaultIntegrityError. */
export async function decryptEntry(
  vaultKey: VaultCryptoKey,
  at: EntryAddress,
  sealed: { ciphertext: string; iv: string },
): Promise<string> {
  const failed = () =>
    new VaultIntegrityError(`entry ${at.provider} (${at.entryId})`, undefined, at.provider, at.entryId);
  let plaintext: Uint8Array<ArrayBuffer>;
  try {
    const iv = fromBase64(sealed.iv);
    if (iv.length !== IV_BYTES) throw failed();
    plaintext = new Uint8Array(
      await subtle().decrypt(
        { name: "AES-GCM", iv, additionalData: entryAad(at) },
        vaultKey,
        fromBase64(sealed.ciphertext),
      ),
    );
  } catch {
    throw failed();
  }
  const secret = unpad(plaintext);
  plaintext.fill(0);
  if (secret === null) throw failed();
  return secret;
}
