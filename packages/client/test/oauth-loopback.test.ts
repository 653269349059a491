// The desktop flow's loopback listener (RFC 8252 §7.3) on a real socket, and signInWithProvider up to the
// exchange (which needs the server: apps/server/test/oauth-desktop-client.e2e.test.ts).
import http from "node:http";
import { describe, expect, it } from "vitest";

import { OAuthSignInError, signInWithProvider } from "../src/electron.ts";
import { listenForCallback } from "../src/oauth/loopback.ts";

/** GET with the Host header of our choosing (fetch would not let us set it). */
function get(url: string, host?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: host ? { host } : {} }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body }));
    });
    request.on("error", reject);
  });
}

/** True once nothing accepts connections at `url`'s port any more. */
async function refused(url: string): Promise<boolean> {
  return get(url).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === "ECONNREFUSED",
  );
}

const LONG = 60_000;

describe("the loopback listener", () => {
  it("listens on 127.0.0.1 at /callback, on a port the OS picked", async () => {
    const listener = await listenForCallback({ state: "s", timeoutMs: LONG });
    expect(listener.redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(new URL(listener.redirectUri).port).not.toBe("0");
    listener.close();
    await expect(listener.result).rejects.toMatchObject({ code: "aborted" });
  });

  it("refuses another state (400) and keeps waiting; takes the right one, answers a page, then stops listening", async () => {
    const listener = await listenForCallback({ state: "the-right-state", timeoutMs: LONG });
    const base = listener.redirectUri;

    const wrong = await get(`${base}?code=stolen&state=another-state`);
    expect(wrong.status).toBe(400);
    expect(wrong.body).not.toContain("the-right-state");
    expect((await get(`${base}?code=stolen`)).status).toBe(400);
    // An error with the wrong state cannot end the wait either.
    expect((await get(`${base}?error=access_denied&state=nope`)).status).toBe(400);
    // Another path, or another Host (a DNS-rebinding page), is turned away too.
    expect((await get(base.replace("/callback", "/favicon.ico"))).status).toBe(404);
    expect((await get(`${base}?code=c&state=the-right-state`, "attacker.example")).status).toBe(400);

    const right = await get(`${base}?code=the-code&state=the-right-state`);
    expect(right.status).toBe(200);
    expect(right.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(right.headers["cache-control"]).toBe("no-store");
    expect(right.headers["referrer-policy"]).toBe("no-referrer");
    expect(right.headers["content-security-policy"]).toMatch(/default-src 'none'/);
    expect(right.body).toContain("Signed in");
    expect(right.body).toContain("close this window");
    expect(right.body).not.toContain("the-code");
    expect((await listener.result).get("code")).toBe("the-code");
    // One shot: a second callback (a replay, a reload) finds nothing listening.
    expect(await refused(`${base}?code=again&state=the-right-state`)).toBe(true);
  });

  it("rejects with the server's error code and the link token, and answers a page that says so", async () => {
    const listener = await listenForCallback({ state: "st", timeoutMs: LONG });
    const answer = await get(`${listener.redirectUri}?error=link_required&link=one-time-link&state=st`);
    expect(answer.status).toBe(200);
    expect(answer.body).toContain("Sign-in did not complete");
    expect(answer.body).not.toContain("one-time-link");
    const error = await listener.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthSignInError);
    expect(error).toMatchObject({ code: "link_required", link: "one-time-link" });
    expect(await refused(listener.redirectUri)).toBe(true);
  });

  it("a linking round trip ends with `linked` (no code), which is a success page too", async () => {
    const listener = await listenForCallback({ state: "st", timeoutMs: LONG });
    const answer = await get(`${listener.redirectUri}?linked=github&state=st`);
    expect(answer.body).toContain("Account linked");
    expect(Object.fromEntries(await listener.result)).toEqual({ linked: "github", state: "st" });
  });

  it("a callback with neither code nor error is invalid_callback; the app's own page is used", async () => {
    const listener = await listenForCallback({
      state: "st",
      timeoutMs: LONG,
      page: (outcome) => `<p>custom ${outcome}</p>`,
    });
    expect((await get(`${listener.redirectUri}?state=st`)).body).toBe("<p>custom failed</p>");
    await expect(listener.result).rejects.toMatchObject({ code: "invalid_callback" });
  });

  it("gives up after timeoutMs (timeout) and when the signal aborts (aborted), and stops listening", async () => {
    const timed = await listenForCallback({ state: "st", timeoutMs: 20 });
    await expect(timed.result).rejects.toMatchObject({ code: "timeout" });
    expect(await refused(timed.redirectUri)).toBe(true);

    const controller = new AbortController();
    const aborted = await listenForCallback({ state: "st", timeoutMs: LONG, signal: controller.signal });
    controller.abort(new Error("the user closed the dialog"));
    const error = await aborted.result.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "aborted" });
    expect((error as Error).cause).toMatchObject({ message: "the user closed the dialog" });
    expect(await refused(aborted.redirectUri)).toBe(true);

    await expect(
      listenForCallback({ state: "st", timeoutMs: LONG, signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({
      code: "aborted",
    });
  });
});

describe("signInWithProvider, up to the exchange", () => {
  const options = { url: "http://127.0.0.1:9", auth: { mode: "cookie" as const } };

  it("opens the server's /start in code mode and rejects with the provider's refusal (no exchange)", async () => {
    const opened: string[] = [];
    const error = await signInWithProvider(options, {
      provider: "github",
      baseUrl: "https://api.example.com/",
      // The "browser": the server would redirect to redirect_uri with the error and the app's state.
      openExternal: async (url) => {
        opened.push(url);
        const start = new URL(url).searchParams;
        await get(`${start.get("redirect_uri")}?error=access_denied&state=${start.get("state")}`);
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthSignInError);
    expect(error).toMatchObject({ code: "access_denied" });

    const start = new URL(opened[0]!);
    expect(start.origin + start.pathname).toBe("https://api.example.com/api/auth/oauth/github/start");
    expect([...start.searchParams.keys()].sort()).toEqual(["code_challenge", "redirect_uri", "state"]);
    expect(start.searchParams.get("redirect_uri")).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(start.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9\-_]{43}$/);
    expect(start.searchParams.get("state")).toMatch(/^[A-Za-z0-9\-_]{43}$/);
    expect(await refused(start.searchParams.get("redirect_uri")!)).toBe(true);
  });

  it("stops listening when openExternal fails, and hands its error on", async () => {
    let redirectUri = "";
    await expect(
      signInWithProvider(options, {
        provider: "oidc",
        openExternal: (url) => {
          redirectUri = new URL(url).searchParams.get("redirect_uri")!;
          throw new Error("no browser");
        },
      }),
    ).rejects.toThrow("no browser");
    expect(await refused(redirectUri)).toBe(true);
  });

  it("needs a baseUrl along with a typed client", async () => {
    const { createClient } = await import("../src/index.ts");
    await expect(
      signInWithProvider(createClient(options), { provider: "google", openExternal: () => {} }),
    ).rejects.toThrow(/baseUrl/);
  });
});
