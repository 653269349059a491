// The client as an app outside this repository gets it: packed with pnpm, installed with plain npm into an empty
// project beside a package of the app's own named @prompt-booster/api, type-checked under `strict`, then run
// against a real server through `import` and through `require`.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { CHROMIUM_ARGS, chromiumPath, hasChromium, warnIfNoChromium } from "./support/chromium.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

const repo = path.resolve(import.meta.dirname, "../../..");
warnIfNoChromium("client-package.e2e (the Chromium run)");
const pnpmVersion = (
  JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8")) as { packageManager: string }
).packageManager.split("@")[1]!;
const tsc = createRequire(path.join(repo, "package.json")).resolve("typescript/bin/tsc");

let scratch: string;
let t: TestServer;
/** The consumers' type-check (and emit, into out/), done once for the tests below. */
let compiled: { status: number | null; output: string };

function write(file: string, text: string) {
  fs.mkdirSync(path.dirname(path.join(scratch, file)), { recursive: true });
  fs.writeFileSync(path.join(scratch, file), text);
}

/** Runs the repository's tsc in the scratch project; returns its exit status and output. */
function typecheck(project: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [tsc, "-p", project], { cwd: scratch, encoding: "utf8" });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** The part of esbuild's API used here (esbuild comes with tsup). */
interface EsbuildApi {
  build: (options: Record<string, unknown>) => Promise<{
    metafile: {
      inputs: Record<string, unknown>;
      outputs: Record<string, { inputs: Record<string, unknown>; entryPoint?: string }>;
    };
    outputFiles: { text: string }[];
  }>;
}

async function loadEsbuild(): Promise<EsbuildApi> {
  const tsup = createRequire(path.join(repo, "packages/client/package.json")).resolve("tsup");
  return (await import(createRequire(tsup).resolve("esbuild"))) as EsbuildApi;
}

/** Runs a consumer with node; asynchronously, since the server it calls lives in this process. */
async function runNode(file: string): Promise<unknown> {
  const { stdout } = await promisify(execFile)(process.execPath, [file], {
    cwd: scratch,
    encoding: "utf8",
    env: { ...process.env, PB_API_URL: t.url },
  });
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "pb-client-package-"));
  execFileSync(
    "npx",
    ["-y", `pnpm@${pnpmVersion}`, "--filter", "@prompt-booster/client", "pack", "--pack-destination", scratch],
    { cwd: repo, stdio: "pipe" },
  );
  const tarball = fs.readdirSync(scratch).find((file) => file.endsWith(".tgz"));
  if (!tarball) throw new Error("pnpm pack wrote no tarball");

  // The app's own workspace package of the same name (its LLM client), exporting nothing the client needs.
  write(
    "llm-api/package.json",
    JSON.stringify({ name: "@prompt-booster/api", version: "1.0.0", main: "index.js", types: "index.d.ts" }),
  );
  write("llm-api/index.js", 'exports.callModel = (prompt) => "echo: " + prompt;\n');
  write("llm-api/index.d.ts", "export declare function callModel(prompt: string): string;\n");
  write(
    "package.json",
    JSON.stringify({
      name: "scratch-app",
      private: true,
      dependencies: { "@prompt-booster/api": "file:./llm-api", "@prompt-booster/client": `file:./${tarball}` },
    }),
  );
  execFileSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: scratch,
    stdio: "pipe",
  });
  write("src/app.mts", ESM_CONSUMER);
  write("src/main.cts", CJS_CONSUMER);
  write("src/web.mts", WEB_CONSUMER);
  write("browser/page.js", BROWSER_PAGE);
  write("tsconfig.json", JSON.stringify({ compilerOptions, include: ["src"] }));
  compiled = typecheck("tsconfig.json");
  t = await startTestServer();
}, 300_000);

afterAll(async () => {
  await t?.close();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

const compilerOptions = {
  strict: true,
  module: "nodenext",
  moduleResolution: "nodenext",
  target: "es2022",
  lib: ["es2023", "dom"],
  types: ["node"],
  typeRoots: [path.join(repo, "node_modules/@types")],
  skipLibCheck: false,
  rootDir: "src",
  outDir: "out",
};

// An app's code: its own @prompt-booster/api beside ours, a token store on Electron's safeStorage (with a
// stand-in), the schemas subpath, and the typed calls. The tokens reach the store without the app's help.
const ESM_CONSUMER = `
import { callModel } from "@prompt-booster/api";
import { createClient, type RouterOutputs, type Template } from "@prompt-booster/client";
import { createSafeStorageTokenStore, type SafeStorageLike } from "@prompt-booster/client/electron";
import { zCreateTemplateInput } from "@prompt-booster/client/schemas";
import { randomUUID } from "node:crypto";
import { readFileSync, existsSync } from "node:fs";
import path from "node:path";

const safeStorage: SafeStorageLike = {
  isEncryptionAvailable: () => true,
  encryptString: (text) => Buffer.from(text, "utf8").reverse(),
  decryptString: (data) => Buffer.from(data).reverse().toString("utf8"),
};
const tokenFile = path.join(process.cwd(), "session", "token.bin");
const tokens = createSafeStorageTokenStore(safeStorage, tokenFile);
const client = createClient({ url: process.env.PB_API_URL!, auth: { mode: "bearer", tokens } });

const suffix = randomUUID().slice(0, 8);
const signedUp = await client.auth.register.mutate({
  email: "esm-" + suffix + "@example.com",
  username: "esm_" + suffix,
  password: "correct horse " + suffix,
});
const stored = await tokens.get();
const onDisk = readFileSync(tokenFile, "utf8");
const input = zCreateTemplateInput.parse({ name: "Greeting", content: "Say hello" });
const created: Template = await client.templates.create.mutate(input);
const me: RouterOutputs["auth"]["me"] = await client.auth.me.query();
await client.auth.logout.mutate();
console.log(JSON.stringify({
  llm: callModel("hi"),
  tokenStored: stored === signedUp.token,
  encryptedOnDisk: !onDisk.includes(signedUp.token),
  template: created.name,
  createdAt: created.createdAt instanceof Date,
  me: me.user.username === signedUp.user.username,
  clearedAfterLogout: !existsSync(tokenFile),
}));
`;

const CJS_CONSUMER = `
import { createClient, isUnauthorized, type TokenStore } from "@prompt-booster/client";
import { randomUUID } from "node:crypto";

async function main() {
  let token: string | null = null;
  const tokens: TokenStore = { get: () => token, set: (next) => { token = next; }, clear: () => { token = null; } };
  const client = createClient({ url: process.env.PB_API_URL!, auth: { mode: "bearer", tokens } });
  const suffix = randomUUID().slice(0, 8);
  await client.auth.register.mutate({
    email: "cjs-" + suffix + "@example.com",
    username: "cjs_" + suffix,
    password: "correct horse " + suffix,
  });
  const first = token;
  const rotated = await client.auth.refreshToken.mutate();
  const afterRefresh = token;
  const page = await client.templates.list.query({ scope: "mine" });
  await client.auth.logoutAll.mutate();
  const afterLogoutAll = token;
  let refused = false;
  try {
    await client.auth.me.query();
  } catch (error) {
    refused = isUnauthorized(error);
  }
  console.log(JSON.stringify({
    loader: typeof require === "function" && typeof module === "object" ? "require" : "import",
    rotated: first !== null && afterRefresh === rotated.token && rotated.token !== first,
    clearedAfterLogoutAll: afterLogoutAll === null,
    templates: page.items.length,
    refused,
  }));
}
void main();
`;

// A web app's entry: what its bundler sees.
const WEB_CONSUMER = `
import { createClient, MemorySyncStore, SyncEngine } from "@prompt-booster/client";

const client = createClient({ url: "https://api.example.com", auth: { mode: "cookie" } });
export const engine = new SyncEngine({ client, store: new MemorySyncStore() });
`;

// The same package in a web page (plain JS, bundled by the app's bundler): bearer mode, the token in memory.
const BROWSER_PAGE = `
import { createClient } from "@prompt-booster/client";

globalThis.runApp = async (url) => {
  let token = null;
  const tokens = { get: () => token, set: (next) => { token = next; }, clear: () => { token = null; } };
  const client = createClient({ url, auth: { mode: "bearer", tokens } });
  const suffix = crypto.randomUUID().slice(0, 8);
  const signedUp = await client.auth.register.mutate({
    email: "web-" + suffix + "@example.com",
    username: "web_" + suffix,
    password: "correct horse " + suffix,
  });
  const tokenKept = token === signedUp.token;
  const created = await client.templates.create.mutate({ name: "From the browser", content: "Hi" });
  await client.auth.logout.mutate();
  return { template: created.name, tokenKept, clearedAfterLogout: token === null };
};
`;

describe("the packed client package", () => {
  it("installs with npm and type-checks under strict beside the app's own @prompt-booster/api", () => {
    const manifest = JSON.parse(
      fs.readFileSync(path.join(scratch, "node_modules/@prompt-booster/client/package.json"), "utf8"),
    ) as { dependencies: Record<string, string>; exports: Record<string, unknown> };
    expect(Object.values(manifest.dependencies).filter((version) => /workspace:|catalog:/.test(version))).toEqual([]);
    expect(Object.keys(manifest.dependencies)).not.toContain("@prompt-booster/api");
    expect(Object.keys(manifest.exports)).toEqual(expect.arrayContaining([".", "./schemas", "./electron"]));

    expect(compiled.output).toBe("");
    expect(compiled.status).toBe(0);
  });

  it("refuses a misspelt field at compile time", () => {
    write(
      "typo/typo.mts",
      `import { createClient } from "@prompt-booster/client";
const client = createClient({ url: "http://localhost", auth: { mode: "cookie" } });
await client.templates.create.mutate({ nmae: "Greeting", content: "Say hello" });
`,
    );
    write(
      "tsconfig.typo.json",
      JSON.stringify({ compilerOptions: { ...compilerOptions, rootDir: "typo", noEmit: true }, include: ["typo"] }),
    );
    const result = typecheck("tsconfig.typo.json");
    expect(result.status).not.toBe(0);
    const errors = result.output.split("\n").filter((line) => line.includes("error TS"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/typo\.mts\(3,.*'nmae' does not exist/);
  });

  it("runs against a live server through import (ESM), with the safeStorage token store", async () => {
    expect(await runNode("out/app.mjs")).toEqual({
      llm: "echo: hi",
      tokenStored: true,
      encryptedOnDisk: true,
      template: "Greeting",
      createdAt: true,
      me: true,
      clearedAfterLogout: true,
    });
  });

  it("bundles for a browser with nothing of Node in it, and zod only in the chunk the engine loads to validate a write", async () => {
    const { build } = await loadEsbuild();
    const result = await build({
      entryPoints: [path.join(scratch, "out/web.mjs")],
      absWorkingDir: scratch,
      bundle: true,
      minify: true,
      format: "esm",
      splitting: true,
      outdir: path.join(scratch, "web-bundle"),
      platform: "browser",
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((input) => input.includes("node_modules/@prompt-booster/client/dist/index.js"))).toBe(true);
    expect(inputs.filter((input) => /^node:|electron|client\/dist\/schemas\.js/.test(input))).toEqual([]);
    const outputs = Object.values(result.metafile.outputs);
    const entry = outputs.find((output) => output.entryPoint !== undefined)!;
    expect(Object.keys(entry.inputs).filter((input) => input.includes("node_modules/zod/"))).toEqual([]);
    const withZod = outputs.filter((output) =>
      Object.keys(output.inputs).some((input) => input.includes("node_modules/zod/")),
    );
    expect(
      withZod.flatMap((output) => Object.keys(output.inputs).filter((input) => input.includes("/validate-"))),
    ).toHaveLength(1);
  });

  it.skipIf(!hasChromium)(
    "runs in Chromium from the app's browser bundle, on another origin than the API",
    async () => {
      const { build } = await loadEsbuild();
      const bundle = await build({
        entryPoints: [path.join(scratch, "browser/page.js")],
        absWorkingDir: scratch,
        bundle: true,
        format: "iife",
        platform: "browser",
        write: false,
        logLevel: "silent",
      });
      const pageServer = http.createServer((request, response) => {
        const script = request.url === "/app.js";
        response.writeHead(200, { "content-type": script ? "text/javascript" : "text/html" });
        response.end(script ? bundle.outputFiles[0]!.text : '<!doctype html><script src="/app.js"></script>');
      });
      await new Promise<void>((resolve) => pageServer.listen(0, "127.0.0.1", resolve));
      const { chromium } = await import("playwright-core");
      const browser = await chromium.launch({
        executablePath: chromiumPath,
        args: CHROMIUM_ARGS,
      });
      try {
        const page = await browser.newPage();
        await page.goto(`http://127.0.0.1:${(pageServer.address() as AddressInfo).port}/`);
        const outcome = await page.evaluate(
          (apiUrl) => (globalThis as unknown as { runApp(url: string): Promise<unknown> }).runApp(apiUrl),
          t.url,
        );
        expect(outcome).toEqual({ template: "From the browser", tokenKept: true, clearedAfterLogout: true });
      } finally {
        await browser.close();
        pageServer.close();
      }
    },
  );

  it("runs against a live server through require (CommonJS)", async () => {
    expect(await runNode("out/main.cjs")).toEqual({
      loader: "require",
      rotated: true,
      clearedAfterLogoutAll: true,
      templates: 0,
      refused: true,
    });
  });
});
