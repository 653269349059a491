// Abuse of the transport itself — sizes, batches, URLs, slow bodies, broken encodings — each answered
// with the right 4xx (or the connection closed), quickly, and the server keeps serving.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { signUp, type SignedUp } from "../support/auth.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

let t: TestServer;
let account: SignedUp;
let port: number;

beforeAll(async () => {
  t = await startTestServer({ env: { REQUEST_TIMEOUT_MS: "1500", TRPC_MAX_BATCH_SIZE: "25" } });
  account = await signUp(t.url);
  port = Number(new URL(t.url).port);
});
afterAll(() => t.close());

const auth = () => ({ authorization: `Bearer ${account.token}` });

/** Sends raw bytes on a fresh connection; resolves to the status line (or "closed" if none came). */
function raw(request: string | Buffer, options: { holdOpenMs?: number } = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let answer = "";
    socket.on("data", (chunk) => (answer += chunk.toString("latin1")));
    socket.on("error", () => {});
    socket.on("close", () => resolve(answer.split("\r\n")[0] || "closed"));
    socket.write(request, () => {
      if (!options.holdOpenMs) socket.end();
    });
    if (options.holdOpenMs) setTimeout(() => socket.destroy(), options.holdOpenMs);
  });
}

describe("transport abuse", () => {
  it("refuses an oversized body with 413, on tRPC and on REST", async () => {
    const body = JSON.stringify({ json: { originalPrompt: "x".repeat(2 * 1024 * 1024) } });
    for (const url of [`${t.url}/trpc/prompts.create`, `${t.url}/api/prompts`]) {
      const response = await fetch(url, {
        method: "POST",
        headers: { ...auth(), "content-type": "application/json" },
        body,
      });
      expect(response.status).toBe(413);
    }
  });

  it("refuses a batch of 1,000 calls, and comma-only batch paths, with a 4xx", async () => {
    const thousand = Array.from({ length: 1_000 }, () => "system.ping").join(",");
    const big = await fetch(`${t.url}/trpc/${thousand}?batch=1`);
    expect(big.status).toBe(414);
    const over = Array.from({ length: 26 }, () => "system.ping").join(",");
    expect((await fetch(`${t.url}/trpc/${over}?batch=1`)).status).toBe(400);
    for (const path of [",", ",,,,"]) {
      const response = await fetch(`${t.url}/trpc/${path}?batch=1`);
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(response.status, path).toBeLessThan(500);
    }
    // Empty names among real ones: the real calls are answered, the empty ones are errors (207 multi-status).
    for (const path of [",system.ping,", "system.ping,,system.ping"]) {
      const response = await fetch(`${t.url}/trpc/${path}?batch=1`);
      expect(response.status, path).toBe(207);
    }
  });

  it("answers a 10 MB URL with a 4xx instead of reading it all", async () => {
    const status = await raw(`GET /trpc/system.ping?input=${"a".repeat(10 * 1024 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(status).toMatch(/^HTTP\/1\.1 4(14|31)/);
  });

  it("closes a slowloris body after the request timeout", async () => {
    const started = Date.now();
    const status = await raw(
      "POST /trpc/prompts.create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
      { holdOpenMs: 20_000 },
    );
    expect(status).toMatch(/^HTTP\/1\.1 408|^closed$/);
    // Closed by the server's timeout (1.5 s, checked every second), not by our 20 s give-up.
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("answers malformed JSON, malformed superjson and wrong content types with a 4xx", async () => {
    const post = (body: string, contentType: string) =>
      fetch(`${t.url}/trpc/templates.create`, {
        method: "POST",
        headers: { ...auth(), "content-type": contentType },
        body,
      });
    const cases: [string, string][] = [
      ['{"json": {"name": "a", "content": ', "application/json"],
      ['{"json": {"name": "a", "content": "b"}, "meta": {"values": {"name": ["Date"]}}}', "application/json"],
      ['{"json": {"name": "a", "content": "b"}, "meta": {"values": "nonsense"}}', "application/json"],
      ["name=a&content=b", "application/x-www-form-urlencoded"],
      ["<xml/>", "text/xml"],
      ["\u0000\u0001\u0002", "application/octet-stream"],
    ];
    for (const [body, contentType] of cases) {
      const response = await post(body, contentType);
      const text = await response.text();
      expect(response.status, `${contentType} ${body}`).toBeGreaterThanOrEqual(400);
      expect(response.status, `${contentType} ${body}: ${text}`).toBeLessThan(500);
      expect(text).not.toMatch(/\n\s+at |node_modules|stack/);
    }
    // And through all of it the server kept serving.
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
  });
});
