// PKCE (RFC 7636, S256) and the app's `state`, from Web Crypto: the same code in browsers, Node 20 and Electron.

/** base64url without padding (RFC 4648 §5), the encoding PKCE and the server's tokens use. */
export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** `bytes` random bytes, base64url: 32 give 43 characters (256 bits), the shortest verifier RFC 7636 allows. */
export function randomToken(bytes = 32): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** The S256 challenge of a verifier: base64url(SHA-256(ASCII(verifier))). */
export async function pkceChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

export interface PkcePair {
  verifier: string;
  challenge: string;
}

/** A fresh verifier (kept by the app until the exchange) and its challenge (sent to the server's /start). */
export async function createPkce(): Promise<PkcePair> {
  const verifier = randomToken();
  return { verifier, challenge: await pkceChallenge(verifier) };
}

/** Compares without stopping at the first difference, so timing says nothing about the expected state. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
