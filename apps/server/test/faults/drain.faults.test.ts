// SIGTERM in the middle of a load: requests already in flight complete, later ones are refused cleanly
// (503 on an open connection, or a refused connection once the listener is closed), and the process
// exits 0 within the shutdown bound.
import { afterAll, describe, expect, it } from "vitest";

import { signUp } from "../support/auth.ts";
import { runServerProcess } from "../support/process.ts";
import { startWriteLoad, untilAcknowledged } from "./load.ts";

describe("SIGTERM under load", () => {
  const server = runServerProcess({ PORT: "0", SHUTDOWN_TIMEOUT_MS: "10000" });
  afterAll(() => void server.child.kill("SIGKILL"));

  it("drains in-flight requests and exits 0", async () => {
    const url = await server.listening();
    const account = await signUp(url);
    const load = startWriteLoad(url, account.token, 16);
    await untilAcknowledged(load, 30);

    server.child.kill("SIGTERM");
    // Exit code 0 also proves the bound: past SHUTDOWN_TIMEOUT_MS the server exits 1.
    expect(await server.exit).toBe(0);
    await load.stop();

    // Every answer was a success or a clean refusal; no request was cut off mid-way.
    expect([...load.statuses.keys()].filter((status) => status !== "200" && status !== "503")).toEqual([]);
    expect([...load.errors.keys()].filter((code) => code !== "ECONNREFUSED")).toEqual([]);
  });
});
