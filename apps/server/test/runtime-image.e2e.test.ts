// The Docker image's runtime folder, made as the Dockerfile makes it (scripts/runtime-folder.mjs over a fresh
// bundle), started on its own: no Docker engine runs here, so this is the image's files without the image.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "tsup";

import { makeRuntimeFolder } from "../scripts/runtime-folder.ts";
import tsupConfig from "../tsup.config.ts";
import { authedClient, signUp } from "./support/auth.ts";
import { waitFor } from "./support/process.ts";

const serverDir = path.resolve(import.meta.dirname, "..");
const root = path.resolve(serverDir, "../..");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "runtime-image-"));
const out = path.join(work, "app");

/** Bytes under a folder, symlinks counted as links (as `du` does). */
function sizeOf(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += fs.statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return total;
}

beforeAll(async () => {
  // The bundle is built here, into this test's own folder: apps/server/dist may be in use by others.
  if (typeof tsupConfig === "function" || Array.isArray(tsupConfig)) throw new Error("tsup.config.ts changed shape");
  const dist = path.join(work, "dist");
  const entry = Object.fromEntries(
    Object.entries(tsupConfig.entry as Record<string, string>).map(([name, file]) => [
      name,
      path.join(serverDir, file),
    ]),
  );
  await build({
    ...tsupConfig,
    config: false,
    entry,
    outDir: dist,
    tsconfig: path.join(serverDir, "tsconfig.json"),
    silent: true,
    onSuccess: undefined,
  });
  // What tsup.config.ts's onSuccess does for dist/: the migrator's schema and migrations beside the bundle.
  fs.cpSync(path.join(root, "packages/db/prisma"), path.join(dist, "prisma"), { recursive: true });
  const { packageManager } = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
    packageManager: string;
  };
  await makeRuntimeFolder(out, { dist, pnpm: process.env.PNPM ?? `npx -y ${packageManager}` });
}, 300_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe("the runtime image's folder", () => {
  it("holds the bundle and only the dependencies it runs: no Prisma CLI or Studio, one PGlite, no TypeScript", () => {
    expect(fs.readdirSync(out).sort()).toEqual(["dist", "node_modules", "package.json"]);
    const packages = fs.readdirSync(path.join(out, "node_modules/.pnpm"));
    expect(packages.filter((name) => /^(prisma@|@prisma\+studio|@prisma\+dev@|typescript@|react@)/.test(name))).toEqual(
      [],
    );
    expect(packages.filter((name) => name.startsWith("@electric-sql+pglite@"))).toHaveLength(1);
    // The Prisma client's runtime for PostgreSQL only, of the five databases it ships query compilers for.
    const prismaRuntime = fs.readdirSync(
      path.join(
        out,
        "node_modules/.pnpm",
        packages.find((name) => name.startsWith("@prisma+client@"))!,
      ),
      { recursive: true, encoding: "utf8" },
    );
    expect(
      prismaRuntime.filter((file) => /query_compiler.*\.(mysql|sqlite|sqlserver|cockroachdb)\./.test(file)),
    ).toEqual([]);
    const megabytes = sizeOf(out) / 1e6;
    console.log(`runtime folder: ${megabytes.toFixed(1)} MB`);
    // The production folder before tracing was ~400 MB; a jump back toward that is a dependency to look at.
    expect(megabytes).toBeLessThan(80);
  });

  it("starts alone, migrates an empty PGlite, answers /health and a signed-in tRPC write and read, stops on SIGTERM", async () => {
    const child = spawn(process.execPath, ["dist/main.js"], {
      cwd: out,
      // Nothing of the workspace: the image's environment (Dockerfile ENV) with a loopback host and a free port.
      env: {
        PATH: process.env.PATH ?? "",
        NODE_ENV: "production",
        HOST: "127.0.0.1",
        PORT: "0",
        PGLITE_DATA_DIR: path.join(work, "pglite"),
        NODE_OPTIONS: "--enable-source-maps",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const exit = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      const [, url] = await waitFor(
        () => output.match(/listening on (http:\/\/[\d.:]+)/),
        "the server to listen",
        exit,
      );
      expect(await (await fetch(`${url}/health`)).json()).toEqual({ status: "ok" });
      const { token } = await signUp(url!);
      const api = authedClient(url!, token);
      const created = await api.prompts.create.mutate({
        originalPrompt: "Runs from the image's files",
        firstVersion: { optimizedPrompt: "o", modelId: "m", provider: "p", modelName: "n" },
      });
      expect((await api.prompts.list.query({})).items.map((group) => group.id)).toEqual([created.id]);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exit, output).toBe(0);
  });
});
