// The safeStorage token store on a real file system, with a stand-in for Electron's safeStorage.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { createSafeStorageTokenStore, SafeStorageUnavailableError, type SafeStorageLike } from "../src/electron.ts";

/** Reversible but not plain text, like the real thing; `available` flips as the OS keychain would. */
function standIn(available = true): SafeStorageLike & { available: boolean } {
  return {
    available,
    isEncryptionAvailable() {
      return this.available;
    },
    encryptString: (text) => Buffer.from(`enc:${Buffer.from(text, "utf8").toString("base64")}`),
    decryptString(data) {
      const text = data.toString("utf8");
      if (!text.startsWith("enc:")) throw new Error("Error while decrypting the ciphertext provided to safeStorage");
      return Buffer.from(text.slice(4), "base64").toString("utf8");
    },
  };
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "pb-token-store-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("createSafeStorageTokenStore", () => {
  it("keeps the token encrypted in the file, reads it back, and clears it", async () => {
    const file = path.join(dir, "nested", "session.bin");
    const store = createSafeStorageTokenStore(standIn(), file);
    expect(await store.get()).toBeNull();

    await store.set("secret-token-1");
    expect(fs.readFileSync(file, "utf8")).not.toContain("secret-token-1");
    expect(await store.get()).toBe("secret-token-1");
    // A second store over the same file (the app restarted) sees the same token.
    expect(await createSafeStorageTokenStore(standIn(), file).get()).toBe("secret-token-1");

    await store.set("secret-token-2");
    expect(await store.get()).toBe("secret-token-2");
    await store.clear();
    expect(fs.existsSync(file)).toBe(false);
    expect(await store.get()).toBeNull();
    await store.clear();
  });

  it("replaces the file whole (temporary file, then rename) and leaves no temporary file behind", async () => {
    const file = path.join(dir, "session.bin");
    const store = createSafeStorageTokenStore(standIn(), file);
    await store.set("first");
    const before = fs.statSync(file).ino;
    await store.set("second");
    expect(fs.statSync(file).ino).not.toBe(before);
    expect(fs.readdirSync(dir)).toEqual(["session.bin"]);
  });

  it("applies calls in order: a clear right after a set wins", async () => {
    const file = path.join(dir, "session.bin");
    const store = createSafeStorageTokenStore(standIn(), file);
    await Promise.all([store.set("token"), store.clear()]);
    expect(await store.get()).toBeNull();
  });

  it("refuses to store the token where encryption is unavailable, and reads an undecryptable file as signed out", async () => {
    const file = path.join(dir, "session.bin");
    const safeStorage = standIn(false);
    const store = createSafeStorageTokenStore(safeStorage, file);
    await expect(store.set("token")).rejects.toBeInstanceOf(SafeStorageUnavailableError);
    expect(fs.existsSync(file)).toBe(false);

    fs.writeFileSync(file, "written by another OS user");
    safeStorage.available = true;
    expect(await store.get()).toBeNull();
  });
});
