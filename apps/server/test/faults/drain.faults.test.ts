// SIGTERM in the middle of a load: requests in flight complete, new ones get 503, the process exits 0
// within the shutdown bound — and no write was done without its client hearing of it.
import http from "node:http";
import { afterAll, describe, expect, it } from "vitest";

import { signUp } from "../support/auth.ts";
import { runServerProcess } from "../support/process.ts";
import { getPrompt, persistentDatabaseEnv, startWriteLoad, untilAcknowledged } from "./load.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("SIGTERM under load", () => {
  it("drains in-flight requests, refuses new ones with 503, and exits 0", async () => {
    const env = { PORT: "0", SHUTDOWN_TIMEOUT_MS: "10000", ...(await persistentDatabaseEnv(cleanups)) };
    const server = runServerProcess(env);
    cleanups.push(() => void server.child.kill("SIGKILL"));
    const url = await server.listening();
    const account = await signUp(url);
    const load = startWriteLoad(url, account.token, 16);
    await untilAcknowledged(load, 30);

    server.child.kill("SIGTERM");
    // Exit code 0 also proves the bound: past SHUTDOWN_TIMEOUT_MS the server exits 1.
    expect(await server.exit).toBe(0);
    await load.stop();
    expect([...load.statuses.keys()].filter((status) => status !== "200" && status !== "503")).toEqual([]);

    // Every write the server did was answered: no unacknowledged prompt exists.
    const again = runServerProcess(env);
    cleanups.push(() => void again.child.kill("SIGKILL"));
    const restarted = await again.listening();
    for (const id of load.unacknowledged) {
      expect(await getPrompt(restarted, account.token, id), `unanswered write ${id}`).toBeNull();
    }
    for (const id of [...load.acknowledged].slice(-20)) {
      expect(await getPrompt(restarted, account.token, id)).not.toBeNull();
    }
    again.child.kill("SIGTERM");
    expect(await again.exit).toBe(0);
  });
});

/** sync.subscribe over raw HTTP, with the Accept header a given client sends; resolves once the first event came. */
function openStream(url: string, token: string, accept: string | undefined) {
  return new Promise<{ ended: Promise<void> }>((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (accept !== undefined) headers.accept = accept;
    const request = http.get(`${url}/trpc/sync.subscribe`, { headers }, (response) => {
      if (response.statusCode !== 200) return reject(new Error(`subscribe answered ${response.statusCode}`));
      const ended = new Promise<void>((done) => response.once("close", done));
      response.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("data:")) resolve({ ended });
      });
    });
    request.on("error", reject);
  });
}

describe("SIGTERM with event streams open", () => {
  it("cuts every stream, whatever its Accept header, and exits 0 (not at the shutdown timeout)", async () => {
    const server = runServerProcess({ PORT: "0", SHUTDOWN_TIMEOUT_MS: "10000" });
    cleanups.push(() => void server.child.kill("SIGKILL"));
    const url = await server.listening();
    const account = await signUp(url);
    // EventSource's own header, curl's default, a polyfill's, odd casing and parameters, and none at all.
    const accepts = ["text/event-stream", "text/event-stream, */*", "*/*", "Text/Event-Stream;q=0.9", undefined];
    const streams = await Promise.all(accepts.map((accept) => openStream(url, account.token, accept)));

    server.child.kill("SIGTERM");
    // Exit code 0 proves the drain did not wait on a stream: past SHUTDOWN_TIMEOUT_MS the server exits 1.
    expect(await server.exit).toBe(0);
    await Promise.all(streams.map((stream) => stream.ended));
    expect(server.output()).not.toMatch(/shutdown took too long/);
  });
});
