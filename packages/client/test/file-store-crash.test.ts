// FileSyncStore under kill -9: a child process writes (queue, pull pages, settles) without pause and prints
// each acknowledgement after its promise resolved; the test kills it with SIGKILL after a random number of
// acknowledgements (some write is always under way then), opens the store, and checks that nothing acknowledged
// is lost, that a settle moved its writes whole, and that rows and cursor still belong together.
import { spawn } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { FileSyncStore } from "../src/file-store.ts";
import { rowsAtCursor } from "./file-store-crash.pages.ts";

const ROUNDS = 20;
const root = path.resolve(import.meta.dirname, "..");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "pb-file-store-crash-"));
const childScript = path.join(work, "child.mjs");

/** The part of esbuild's API used here (esbuild comes with tsup, not as a dependency of its own). */
interface EsbuildApi {
  build: (options: Record<string, unknown>) => Promise<unknown>;
}

beforeAll(async () => {
  // The child runs on plain Node: its TypeScript (and the store's) bundled into one file first.
  const requireHere = createRequire(path.join(root, "package.json"));
  const { build } = (await import(createRequire(requireHere.resolve("tsup")).resolve("esbuild"))) as EsbuildApi;
  await build({
    entryPoints: [path.join(root, "test/file-store-crash.child.ts")],
    outfile: childScript,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    logLevel: "silent",
  });
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

interface Acknowledged {
  queued: string[];
  applied: number[];
  /** Settles started (acknowledged or not) and acknowledged, as [applied, refused] pairs. */
  settling: [string, string][];
  settled: [string, string][];
}

/** Runs the child until it has acknowledged a random number of writes, then kills it. */
async function runAndKill(directory: string, prefix: string, acknowledgements: number): Promise<Acknowledged> {
  const child = spawn(process.execPath, [childScript, directory, prefix], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let errors = "";
  let killing = false;
  child.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      // Then a random pause, so the kill lands anywhere in the child's cycle (which never stops writing).
      if (!killing && (output.match(/^(queued|applied|settled) /gm)?.length ?? 0) >= acknowledgements) {
        killing = true;
        setTimeout(() => {
          child.kill("SIGKILL");
          resolve();
        }, Math.random() * 30);
      }
    });
    void exited.then(() => reject(new Error(`the child ended on its own: ${errors || output}`)));
  });
  expect(await exited).toBe("SIGKILL");
  expect(errors).toBe("");

  // Only whole lines count: a line cut by the kill was never fully acknowledged.
  const lines = output.slice(0, output.lastIndexOf("\n")).split("\n");
  const acknowledged: Acknowledged = { queued: [], applied: [], settling: [], settled: [] };
  for (const line of lines) {
    const [kind, first, second] = line.split(" ") as [string, string, string];
    if (kind === "queued") acknowledged.queued.push(first);
    else if (kind === "applied") acknowledged.applied.push(Number(first));
    else if (kind === "settling") acknowledged.settling.push([first, second]);
    else if (kind === "settled") acknowledged.settled.push([first, second]);
  }
  return acknowledged;
}

describe("FileSyncStore killed with SIGKILL mid-write", () => {
  it(`loses nothing it acknowledged and never tears rows from their cursor (${ROUNDS} kills)`, async () => {
    const directory = path.join(work, "store");
    const queued = new Set<string>();
    const settling: [string, string][] = [];
    const settled: [string, string][] = [];
    let lastApplied = 0;
    let kills = 0;

    for (let round = 0; round < ROUNDS; round++) {
      const acknowledgements = 1 + Math.floor(Math.random() * 40);
      const acknowledged = await runAndKill(directory, `r${String(round).padStart(2, "0")}`, acknowledgements);
      kills++;
      for (const id of acknowledged.queued) queued.add(id);
      settling.push(...acknowledged.settling);
      settled.push(...acknowledged.settled);
      lastApplied = Math.max(lastApplied, ...acknowledged.applied);

      // A new process opening the store, as the app after the crash.
      const state = await new FileSyncStore(directory).load();
      // No temporary file left (a kill before the first page's write finished leaves no rows.json yet).
      for (const name of fs.readdirSync(directory)) expect(["queue.json", "rows.json"]).toContain(name);

      // Rows and cursor belong together: exactly pages 1..cursor, and at least what was acknowledged.
      expect(state.cursor ?? 0).toBeGreaterThanOrEqual(lastApplied);
      const expected = rowsAtCursor(state.cursor ?? 0);
      expect(state.rows.length).toBe(expected.size);
      for (const row of state.rows) expect(row).toEqual(expected.get(`${row.entity}:${row.id}`));
      if (state.rows[0]?.entity === "template") expect(state.rows[0].data.updatedAt).toBeInstanceOf(Date);

      const pending = state.pending.map((mutation) => mutation.mutationId);
      const rejected = state.rejected.map((entry) => entry.mutation.mutationId);
      // Every acknowledged write is still queued, unless a settle took it.
      const maybeAnswered = new Set(settling.flat());
      for (const id of queued) if (!maybeAnswered.has(id)) expect(pending, `${id} lost`).toContain(id);
      // A settle happened whole or not at all: both still queued, or the first gone and the second refused.
      for (const [applied, refused] of settling) {
        const before = pending.includes(applied) && pending.includes(refused) && !rejected.includes(refused);
        const after = !pending.includes(applied) && !pending.includes(refused) && rejected.includes(refused);
        expect(before || after, `settle of ${applied} ${refused} torn`).toBe(true);
      }
      for (const [applied, refused] of settled) {
        expect(pending).not.toContain(applied);
        expect(rejected).toContain(refused);
      }
      // The queue in written order, nothing twice.
      expect(pending).toEqual([...pending].sort());
      expect(new Set([...pending, ...rejected]).size).toBe(pending.length + rejected.length);
    }
    expect(kills).toBe(ROUNDS);
    expect(queued.size).toBeGreaterThan(0);
  });
});
