// A TokenStore for Electron's main process: the token encrypted with the OS keychain (safeStorage) in a file
// of the app's choosing; and the sync store in files (file-store.ts). Its own entry point
// (`@prompt-booster/client/electron`), so browser bundles never pull in node:fs.
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";

import type { TokenStore } from "./session-link.ts";

export { FileSyncStore, SyncStoreFileError } from "./file-store.ts";
// Provider sign-in through the system browser (RFC 8252). OAuthSignInError is exported here too: this entry is
// built apart from the main one, so `instanceof` needs the class from the same entry as signInWithProvider.
export { DEFAULT_SIGN_IN_TIMEOUT_MS, linkWithProvider, signInWithProvider } from "./oauth/desktop.ts";
export type { LinkWithProviderOptions, SignInWithProviderOptions } from "./oauth/desktop.ts";
export { OAuthSignInError } from "./oauth/errors.ts";
export type { OAuthSignInErrorCode } from "./oauth/errors.ts";
export type { OAuthProvider } from "./oauth/exchange.ts";
export { CALLBACK_PATH, defaultCallbackPage } from "./oauth/loopback.ts";
export type { CallbackOutcome, CallbackPage } from "./oauth/loopback.ts";

/** The part of Electron's `safeStorage` the store uses; a stand-in with these methods works in tests. */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
}

export class SafeStorageUnavailableError extends Error {
  constructor() {
    super("safeStorage: encryption is not available on this system; the token would be stored in clear");
    this.name = "SafeStorageUnavailableError";
  }
}

/**
 * Keeps the token encrypted in `filePath`. Writes go to a temporary file renamed over the old one, so a crash
 * mid-write never leaves half a token. A file that no longer decrypts (another OS user, a reset keychain) reads
 * as signed out rather than failing the app.
 */
export function createSafeStorageTokenStore(safeStorage: SafeStorageLike, filePath: string): TokenStore {
  // Serialised so a clear() issued right after set() cannot be overtaken by the slower write.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => {});
    return run;
  };

  return {
    get: () =>
      serial(async () => {
        let encrypted: Buffer;
        try {
          encrypted = await readFile(filePath);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
          throw error;
        }
        if (!safeStorage.isEncryptionAvailable()) return null;
        try {
          return safeStorage.decryptString(encrypted) || null;
        } catch {
          return null;
        }
      }),
    set: (token) =>
      serial(async () => {
        if (!safeStorage.isEncryptionAvailable()) throw new SafeStorageUnavailableError();
        await mkdir(path.dirname(filePath), { recursive: true });
        const temporary = `${filePath}.${process.pid}.${Date.now()}.tmp`;
        try {
          await writeFile(temporary, safeStorage.encryptString(token), { mode: 0o600 });
          await rename(temporary, filePath);
        } catch (error) {
          await rm(temporary, { force: true });
          throw error;
        }
      }),
    clear: () => serial(() => rm(filePath, { force: true })),
  };
}
