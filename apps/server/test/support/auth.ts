// Accounts for end-to-end tests: sign up through the real HTTP API, then call it as that user.
import { randomUUID } from "node:crypto";
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import superjson from "superjson";

import type { AppRouter } from "@prompt-booster/api";

export interface SignedUp {
  token: string;
  user: { id: string; email: string; username: string };
  email: string;
  username: string;
  password: string;
}

/** Registers a fresh user (unique email and username) over POST /api/auth/register. */
export async function signUp(
  url: string,
  overrides: Partial<{ email: string; username: string; password: string; deviceName: string }> = {},
): Promise<SignedUp> {
  const suffix = randomUUID().slice(0, 12);
  const body = {
    email: `user-${suffix}@example.com`,
    username: `user_${suffix}`,
    password: `correct horse ${suffix}`,
    ...overrides,
  };
  const response = await fetch(`${url}/api/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (response.status !== 200) throw new Error(`signUp failed: ${response.status} ${await response.text()}`);
  const answer = (await response.json()) as { token: string; user: SignedUp["user"] };
  return {
    token: answer.token,
    user: answer.user,
    email: body.email,
    username: body.username,
    password: body.password,
  };
}

/** Signs an existing account in once more (a second device) over POST /api/auth/login; returns its token. */
export async function logIn(
  url: string,
  email: string,
  password: string,
  deviceName = "second device",
): Promise<string> {
  const response = await fetch(`${url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password, deviceName }),
  });
  if (response.status !== 200) throw new Error(`logIn failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

/** A typed tRPC client that sends `Authorization: Bearer <token>`. */
export function authedClient(url: string, token: string) {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${url}/trpc`,
        transformer: superjson,
        headers: () => ({ authorization: `Bearer ${token}` }),
      }),
    ],
  });
}
