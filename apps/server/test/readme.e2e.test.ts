// The README's REST example is a script a reader can run as written: extracted from README.md and run with
// bash against a real server on a fresh database, it must finish with every answer 2xx.
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { startTestServer, type TestServer } from "./support/server.ts";

const readmePath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../README.md");
const marker = "<!-- rest-example -->";

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

/** The code block that follows the marker. */
function exampleBlock(readme: string): string {
  const after = readme.split(marker)[1];
  const block = after?.match(/^\s*```sh\n([\s\S]*?)\n```/);
  if (!block) throw new Error(`README.md has no \`\`\`sh block right after ${marker}`);
  return block[1]!;
}

function runBash(script: string, env: Record<string, string>) {
  // Asynchronous: the server answering the script runs in this very process. No stdin: with a socket there,
  // bash would take itself for a remote shell and read ~/.bashrc.
  const child = spawn("bash", ["-c", script], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, stdout, stderr })),
  );
}

describe("README REST example", () => {
  it("runs as written against a fresh server, every answer 2xx", async () => {
    const script = exampleBlock(await readFile(readmePath, "utf8"));
    // The guarantees the test relies on: stop at the first failing command or non-2xx answer.
    expect(script).toMatch(/^set -euo pipefail$/m);
    expect(script).toContain("curl -sS --fail-with-body");

    const run = await runBash(script, { API: `${t.url}/api` });
    expect(run.code, `exit ${run.code}\n--- stderr\n${run.stderr}\n--- stdout\n${run.stdout}`).toBe(0);
    expect(run.stderr).toBe("");
    // Every printed line is one JSON answer; the last deletes the prompt group.
    const answers = run.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(answers.length).toBeGreaterThanOrEqual(12);
    expect(answers.at(-1)).toMatchObject({ deleted: true });
  });

  it("fails on an answer that is not 2xx", async () => {
    const script = exampleBlock(await readFile(readmePath, "utf8"));
    // The same script with a stale baseRev in the settings update: curl must stop it with the 409's body.
    const stale = script.replace(/"baseRev\\":\$SETTINGS_REV/, '"baseRev\\":999');
    expect(stale).not.toBe(script);
    const run = await runBash(stale, { API: `${t.url}/api` });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("409");
    expect(run.stdout).toContain('"code":"CONFLICT"');
  });
});
