// What curl users, browsers and @trpc/client see at the edges of the HTTP transport: bodyless POSTs, media
// types, wrong methods, HEAD, trailing slashes, and one error shape per path — REST's `{ code, message }`
// on /api, tRPC's envelope on /trpc (so the typed client reports a typed error even for a 413).
import net from "node:net";
import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { authedClient, logIn, signUp, type SignedUp } from "./support/auth.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

let t: TestServer;
let alice: SignedUp;

beforeAll(async () => {
  t = await startTestServer({ env: { BODY_LIMIT_BYTES: "65536", REQUEST_TIMEOUT_MS: "1500" } });
  alice = await signUp(t.url);
});
afterAll(() => t.close());

async function send(path: string, init: RequestInit = {}) {
  const response = await fetch(`${t.url}${path}`, init);
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: response.status, headers: response.headers, text, body: body as any };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** The REST error body: exactly `{ code, message }` plus optional `issues`/`details`, nothing of Fastify's. */
function expectRestError(answer: Awaited<ReturnType<typeof send>>, status: number, code: string) {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.body.code, answer.text).toBe(code);
  expect(typeof answer.body.message).toBe("string");
  expect(Object.keys(answer.body).filter((key) => !["code", "message", "issues", "details"].includes(key))).toEqual([]);
  expect(answer.text).not.toMatch(/FST_|superjson|tRPC/);
}

describe("POST without a body", () => {
  it("logs out with no body and no content type (curl -X POST)", async () => {
    const token = await logIn(t.url, alice.email, alice.password);
    const answer = await send("/api/auth/logout", { method: "POST", headers: bearer(token) });
    expect(answer.status, answer.text).toBe(200);
    expect((await send("/api/auth/me", { headers: bearer(token) })).status).toBe(401);
  });

  it("takes an empty JSON body as {} and media types in any case", async () => {
    const token = await logIn(t.url, alice.email, alice.password);
    const empty = await send("/api/auth/refresh-token", {
      method: "POST",
      headers: { ...bearer(token), "content-type": "application/json" },
    });
    expect(empty.status, empty.text).toBe(200);
    const rotated = empty.body.token as string;
    const shouting = await send("/api/auth/refresh-token", {
      method: "POST",
      headers: { ...bearer(rotated), "content-type": "Application/JSON; charset=UTF-8" },
      body: JSON.stringify({ deviceName: "laptop" }),
    });
    expect(shouting.status, shouting.text).toBe(200);
  });

  it("refuses a body in another media type with 415 in the REST shape", async () => {
    const answer = await send("/api/templates", {
      method: "POST",
      headers: { ...bearer(alice.token), "content-type": "text/plain" },
      body: "name=x",
    });
    expectRestError(answer, 415, "UNSUPPORTED_MEDIA_TYPE");
  });
});

describe("one error shape per path", () => {
  it("REST: broken JSON, a body over the limit, an unknown path", async () => {
    const json = { ...bearer(alice.token), "content-type": "application/json" };
    expectRestError(await send("/api/templates", { method: "POST", headers: json, body: "{nope" }), 400, "BAD_REQUEST");
    const big = JSON.stringify({ name: "x", content: "y".repeat(70_000) });
    expectRestError(
      await send("/api/templates", { method: "POST", headers: json, body: big }),
      413,
      "PAYLOAD_TOO_LARGE",
    );
    expectRestError(await send("/api/nothing-here", { headers: bearer(alice.token) }), 404, "NOT_FOUND");
    expectRestError(await send(`/api/${"x".repeat(6_000)}`), 414, "URI_TOO_LONG");
  });

  it("tRPC: @trpc/client gets a typed error for a body over the limit and for a path too long", async () => {
    const client = authedClient(t.url, alice.token);
    const tooLarge = await client.templates.create.mutate({ name: "x", content: "y".repeat(70_000) }).catch((e) => e);
    expect(tooLarge).toBeInstanceOf(TRPCClientError);
    expect(tooLarge.data).toMatchObject({ code: "PAYLOAD_TOO_LARGE", httpStatus: 413 });
    const tooLong = await send(`/trpc/${"settings.get,".repeat(600)}settings.get?batch=1`, {
      headers: bearer(alice.token),
    });
    expect(tooLong.status, tooLong.text).toBe(414);
    expect(tooLong.body.error?.json?.data, tooLong.text).toMatchObject({ httpStatus: 414 });
  });

  it("tRPC: an unknown media type and a missing path are tRPC-shaped too", async () => {
    const media = await send("/trpc/templates.create", {
      method: "POST",
      headers: { ...bearer(alice.token), "content-type": "application/x-www-form-urlencoded" },
      body: "name=x",
    });
    expect(media.status).toBe(415);
    expect(media.body.error.json.data.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    const missing = await send("/trpc");
    expect(missing.status).toBe(404);
    expect(missing.body.error.json.data.code).toBe("NOT_FOUND");
  });
});

/** Sends a request whose body never finishes; resolves with everything the server wrote before closing. */
function slowBody(path: string): Promise<string> {
  const { hostname, port } = new URL(t.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let received = "";
    socket.on("data", (chunk) => (received += chunk.toString()));
    socket.on("close", () => resolve(received));
    socket.on("error", reject);
    socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`);
  });
}

describe("a body that never finishes arriving", () => {
  it("is a 408 in tRPC's envelope on /trpc and in the REST shape on /api", async () => {
    const [trpcAnswer, restAnswer] = await Promise.all([
      slowBody("/trpc/templates.create"),
      slowBody("/api/templates"),
    ]);
    expect(trpcAnswer).toMatch(/^HTTP\/1\.1 408/);
    const trpcBody = JSON.parse(trpcAnswer.slice(trpcAnswer.indexOf("\r\n\r\n") + 4));
    expect(trpcBody.error.json.data).toMatchObject({ code: "TIMEOUT", httpStatus: 408 });
    expect(restAnswer).toMatch(/^HTTP\/1\.1 408/);
    expect(JSON.parse(restAnswer.slice(restAnswer.indexOf("\r\n\r\n") + 4))).toEqual({
      code: "TIMEOUT",
      message: "The request took too long to arrive",
    });
  });
});

describe("methods, HEAD and trailing slashes", () => {
  it("answers a wrong method with 405 and Allow", async () => {
    const answer = await send("/api/settings", { method: "DELETE", headers: bearer(alice.token) });
    expectRestError(answer, 405, "METHOD_NOT_SUPPORTED");
    expect(answer.headers.get("allow")).toBe("GET, HEAD, PUT");
    const item = await send("/api/templates/7d8f5a7e-9d1c-4c5e-8f3a-2b1c0d9e8f7a", { method: "POST" });
    expect(item.status).toBe(405);
    expect(item.headers.get("allow")).toBe("DELETE, GET, HEAD, PUT");
  });

  it("HEAD mirrors GET without a body; unknown paths are 404", async () => {
    const get = await send("/api/settings", { headers: bearer(alice.token) });
    const head = await send("/api/settings", { method: "HEAD", headers: bearer(alice.token) });
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
    expect(head.headers.get("content-type")).toBe(get.headers.get("content-type"));
    expect((await send("/api/settings", { method: "HEAD" })).status).toBe(401);
    expect((await send("/api/nothing-here", { method: "HEAD" })).status).toBe(404);
  });

  it("answers an empty path segment with 404, as an unknown path", async () => {
    const answer = await send("/api/prompts//versions", { method: "POST", headers: bearer(alice.token) });
    expectRestError(answer, 404, "NOT_FOUND");
  });

  it("treats a trailing slash the same on every path", async () => {
    expect((await send("/health/")).status).toBe(200);
    expect((await send("/api/settings/", { headers: bearer(alice.token) })).status).toBe(200);
  });
});
