// Key vault: how long unlocking takes (PBKDF2-SHA-256 at the vault's iterations, HKDF, verifier check, unwrapping
// the vault key) in Node and in headless Chromium, on this machine. Baseline, measured in the same run and
// runtime: one bare PBKDF2 derivation at the same iterations, the floor an unlock cannot go below.
// Run: cd apps/server && npx tsx bench/vault-unlock.ts [rounds]
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

import { VAULT_KDF_ITERATIONS } from "../../../packages/client/src/vault/crypto.ts";
import { bundleClientModules } from "../test/support/browser-bundle.ts";
import { hasChromium, launchChromium } from "../test/support/chromium.ts";
import { measureUnlock, type UnlockFigures } from "./lib/vault-measure.ts";

const ROUNDS = Number(process.argv[2] ?? 7);

async function inChromium(): Promise<UnlockFigures | null> {
  if (!hasChromium) return null;
  const bundle = await bundleClientModules([path.join(import.meta.dirname, "lib/vault-measure.ts")]);
  const server = http.createServer((request, response) => {
    const script = request.url === "/measure.js";
    response.writeHead(200, { "content-type": script ? "text/javascript" : "text/html" });
    response.end(script ? bundle : "<!doctype html><title>vault bench</title>");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    return await page.evaluate(
      async ([iterations, rounds]) => {
        const url = "/measure.js";
        const module = (await import(url)) as { measureUnlock: typeof measureUnlock };
        return module.measureUnlock(iterations, rounds);
      },
      [VAULT_KDF_ITERATIONS, ROUNDS] as const,
    );
  } finally {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
  }
}

const figures = { node: await measureUnlock(VAULT_KDF_ITERATIONS, ROUNDS), chromium: await inChromium() };
console.log(`vault unlock, PBKDF2-SHA-256 × ${VAULT_KDF_ITERATIONS.toLocaleString("en")}, median of ${ROUNDS}:`);
for (const [runtime, measured] of Object.entries(figures)) {
  if (!measured) {
    console.log(`  ${runtime.padEnd(9)} skipped (no Chromium)`);
    continue;
  }
  const { unlockMs, pbkdf2Ms } = measured;
  console.log(
    `  ${runtime.padEnd(9)} unlock ${unlockMs.toFixed(0)} ms; bare PBKDF2 ${pbkdf2Ms.toFixed(0)} ms (unlock/PBKDF2 ${(unlockMs / pbkdf2Ms).toFixed(2)})`,
  );
}
