// The SyncStore contract for the stores that run in Node: in memory and in files. (IndexedDB: in Chromium,
// apps/server/test/browser-store.e2e.test.ts.) Also what only the file store has to say: its files, its
// temporary files and an unreadable file; and that the IndexedDB store is harmless to import in Node.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { FileSyncStore, SyncStoreFileError } from "../src/electron.ts";
import { IndexedDbSyncStore } from "../src/idb-store.ts";
import { MemorySyncStore } from "../src/sync-store.ts";
import { createMutation, syncStoreContract, templateRow } from "./sync-store.contract.ts";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "pb-sync-store-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

syncStoreContract("MemorySyncStore", { open: () => new MemorySyncStore(), persistent: false });
syncStoreContract("FileSyncStore", { open: (scope) => new FileSyncStore(path.join(root, scope)), persistent: true });

describe("FileSyncStore on disk", () => {
  const fresh = () => fs.mkdtempSync(path.join(root, "case-"));

  it("writes rows and queue to separate files, so queueing a write leaves the rows file alone", async () => {
    const dir = fresh();
    const store = new FileSyncStore(dir);
    await store.apply([templateRow("Row", 1)], 1);
    const rowsInode = fs.statSync(store.rowsFile).ino;
    await store.enqueue(createMutation("Queued"));
    expect(fs.statSync(store.rowsFile).ino).toBe(rowsInode);
    expect(fs.readdirSync(dir).sort()).toEqual(["queue.json", "rows.json"]);
  });

  it("removes temporary files a crash left behind, and ignores what they hold", async () => {
    const dir = fresh();
    const mutation = createMutation("Kept");
    await new FileSyncStore(dir).enqueue(mutation);
    fs.writeFileSync(path.join(dir, "queue.json.0a1b2c3d4e5f.tmp"), '{"json":{"format":1,"pend');
    fs.writeFileSync(path.join(dir, "rows.json.00ff.tmp"), "");
    fs.writeFileSync(path.join(dir, "notes.txt"), "the app's own file");
    const state = await new FileSyncStore(dir).load();
    expect(state.pending).toEqual([mutation]);
    expect(fs.readdirSync(dir).sort()).toEqual(["notes.txt", "queue.json"]);
  });

  it("refuses to open over an unreadable queue file, naming it, instead of dropping the queued writes", async () => {
    const dir = fresh();
    const store = new FileSyncStore(dir);
    await store.enqueue(createMutation("Precious"));
    fs.writeFileSync(store.queueFile, "{ not json");
    const reopened = new FileSyncStore(dir);
    const error = await reopened.load().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SyncStoreFileError);
    expect((error as SyncStoreFileError).file).toBe(store.queueFile);
    expect((error as Error).message).toContain(store.queueFile);
    // Nothing was overwritten: the damaged file is still there for the app (or a person) to look at.
    expect(fs.readFileSync(store.queueFile, "utf8")).toBe("{ not json");
    await expect(reopened.enqueue(createMutation("Another"))).rejects.toBeInstanceOf(SyncStoreFileError);
    expect(fs.readFileSync(store.queueFile, "utf8")).toBe("{ not json");
  });

  it("refuses a file of another shape or format as well", async () => {
    const dir = fresh();
    fs.writeFileSync(path.join(dir, "rows.json"), JSON.stringify({ json: { hello: "world" } }));
    await expect(new FileSyncStore(dir).load()).rejects.toThrow(/rows\.json cannot be read \(not a sync store file\)/);
    fs.writeFileSync(path.join(dir, "rows.json"), JSON.stringify({ json: { format: 2, rows: [] } }));
    await expect(new FileSyncStore(dir).load()).rejects.toThrow(/unknown format 2/);
  });

  it("creates its directory on the first write", async () => {
    const dir = path.join(fresh(), "nested", "user-1");
    const store = new FileSyncStore(dir);
    expect((await store.load()).rows).toEqual([]);
    await store.apply([], 4);
    expect((await new FileSyncStore(dir).load()).cursor).toBe(4);
  });
});

describe("IndexedDbSyncStore outside a browser", () => {
  it("can be imported and built where there is no indexedDB, and says so once it is used", async () => {
    expect("indexedDB" in globalThis).toBe(false);
    const store = new IndexedDbSyncStore({ name: "user-1" });
    expect(store.databaseName).toBe("prompt-booster-sync:user-1");
    await expect(store.load()).rejects.toThrow("IndexedDbSyncStore: this environment has no indexedDB");
    expect(() => new IndexedDbSyncStore({ name: "" })).toThrow(/a name is required/);
  });
});
