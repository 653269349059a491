// The real entry point (src/main.ts) in a child process: configuration errors, start-up, signals.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function runMain(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
} {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: serverDir,
    env: { PATH: process.env.PATH ?? "", NODE_ENV: "test", PGLITE_DATA_DIR: "memory://", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => output, exit };
}

async function waitFor(check: () => RegExpMatchArray | null, what: string, timeoutMs = 60_000) {
  const started = Date.now();
  for (;;) {
    const match = check();
    if (match) return match;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("server process", () => {
  it.each([
    ["PORT", "not-a-port"],
    ["DATABASE_URL", "mysql://localhost/x"],
    ["LOG_LEVEL", "loud"],
    ["CORS_ORIGINS", "not a url"],
  ])("stops at start-up with one line naming %s when it is %s", async (name, value) => {
    const run = runMain({ [name]: value });
    expect(await run.exit).toBe(1);
    const lines = run.output().trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^invalid configuration: ${name}: `));
    // A URL may hold a password: it is never echoed.
    if (name === "DATABASE_URL") expect(lines[0]).not.toContain("mysql://");
  });

  it("applies migrations, listens, and on SIGTERM stops cleanly with exit code 0", async () => {
    const run = runMain({ PORT: "0" });
    const [, address] = await waitFor(() => run.output().match(/listening on (http:\/\/[\d.:]+)/), "listening");
    expect((await fetch(`${address}/health`)).status).toBe(200);
    expect((await fetch(`${address}/ready`)).status).toBe(200);
    run.child.kill("SIGTERM");
    expect(await run.exit).toBe(0);
    expect(run.output()).toContain('"msg":"stopped"');
  });
});
