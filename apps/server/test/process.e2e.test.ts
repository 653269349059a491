// The real entry point (src/main.ts) in a child process: configuration errors, start-up, signals.
import { describe, expect, it } from "vitest";

import { runServerProcess } from "./support/process.ts";

describe("server process", () => {
  it.each([
    ["PORT", "not-a-port"],
    ["DATABASE_URL", "mysql://localhost/x"],
    ["LOG_LEVEL", "loud"],
    ["CORS_ORIGINS", "not a url"],
  ])("stops at start-up with one line naming %s when it is %s", async (name, value) => {
    const run = runServerProcess({ [name]: value });
    expect(await run.exit).toBe(1);
    const lines = run.output().trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^invalid configuration: ${name}: `));
    // A URL may hold a password: it is never echoed.
    if (name === "DATABASE_URL") expect(lines[0]).not.toContain("mysql://");
  });

  it("applies migrations, listens, and on SIGTERM stops cleanly with exit code 0", async () => {
    const run = runServerProcess({ PORT: "0" });
    const address = await run.listening();
    expect((await fetch(`${address}/health`)).status).toBe(200);
    expect((await fetch(`${address}/ready`)).status).toBe(200);
    run.child.kill("SIGTERM");
    expect(await run.exit).toBe(0);
    expect(run.output()).toContain('"msg":"stopped"');
  });
});
