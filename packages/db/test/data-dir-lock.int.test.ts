import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";

import { createDb, DataDirInUseError } from "../src/index.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pb-lock-"));
  dirs.push(dir);
  return dir;
}

describe("embedded data folder lock", () => {
  it("refuses a second open of a folder in use, and frees it on close", async () => {
    const dataDir = tempDir();
    const first = await createDb({ dataDir });
    await expect(createDb({ dataDir })).rejects.toBeInstanceOf(DataDirInUseError);
    await first.close();
    const second = await createDb({ dataDir });
    await second.ping();
    await second.close();
  });

  it("takes over a lock left by a process that no longer runs", async () => {
    const dataDir = tempDir();
    // A pid that surely belonged to a process which has exited.
    const { pid } = spawnSync(process.execPath, ["-e", ""]);
    fs.writeFileSync(path.join(dataDir, ".prompt-booster.lock"), String(pid));
    const db = await createDb({ dataDir });
    await db.ping();
    await db.close();
    expect(fs.existsSync(path.join(dataDir, ".prompt-booster.lock"))).toBe(false);
  });
});
