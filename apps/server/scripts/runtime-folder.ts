// The runtime image's files, cut from the workspace: the Dockerfile's build stage runs this, and
// test/runtime-image.e2e.test.ts runs the same to start the server from the result alone.
//
//   pnpm --filter @prompt-booster/server exec tsx scripts/runtime-folder.ts <out>   (after the server's build)
//   makeRuntimeFolder(out, { dist })                                                (a bundle built elsewhere)
//
// 1. `pnpm deploy --prod`: the server's package.json and its production dependencies, nothing of the workspace.
//    Peers are not auto-installed: @prisma/client's optional peer `prisma` would bring the Prisma CLI, Studio
//    (React, Effect) and a second PGlite; the server migrates with the WASM schema engine instead.
// 2. dist/ from the build (the bundle, the migrations it applies at start).
// 3. Only the files the bundle loads, traced by @vercel/nft from dist/main.js, dist/migrate.js and the schema
//    engine's worker (started from a file path, which a trace of main.js cannot follow), stay in
//    node_modules: the Prisma client's runtime for PostgreSQL only, one native argon2 binary, no types or docs.
// The environment variable PNPM names the pnpm command when it is not `pnpm` on the PATH.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { nodeFileTrace } from "@vercel/nft";

const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const entries = ["main.js", "migrate.js", "schema-engine-worker.js"];

export async function makeRuntimeFolder(
  out: string,
  { dist = path.join(serverDir, "dist"), pnpm = process.env.PNPM ?? "pnpm" }: { dist?: string; pnpm?: string } = {},
): Promise<{ files: number }> {
  for (const entry of entries) {
    if (!fs.existsSync(path.join(dist, entry))) throw new Error(`dist/${entry} is missing: build the server first`);
  }
  fs.rmSync(out, { recursive: true, force: true });
  const [command = "pnpm", ...args] = pnpm.split(/\s+/);
  execFileSync(
    command,
    [
      ...args,
      "--filter",
      "@prompt-booster/server",
      "deploy",
      "--prod",
      "--legacy",
      "--config.auto-install-peers=false",
      out,
    ],
    { cwd: serverDir, stdio: ["ignore", "ignore", "inherit"] },
  );
  // The deployed package's own files go, its dist/ too: whatever the workspace's dist/ held when deploy copied it.
  for (const name of fs.readdirSync(out)) {
    if (name !== "package.json" && name !== "node_modules") fs.rmSync(path.join(out, name), { recursive: true });
  }
  fs.cpSync(dist, path.join(out, "dist"), { recursive: true });

  const { fileList } = await nodeFileTrace(
    entries.map((entry) => path.join(out, "dist", entry)),
    // Node 20.19 and later match the "module-sync" export condition, for require too (nft assumes it from 22).
    { base: out, conditions: ["node", "module-sync"] },
  );
  const keep = new Set(fileList);
  // The schema engine finds its .wasm by rewriting a resolved path, which a trace cannot follow: keep each
  // traced module's .wasm twin.
  for (const file of fileList) {
    const twin = file.replace(/\.js$/, ".wasm");
    if (twin !== file && fs.existsSync(path.join(out, twin))) keep.add(twin);
  }
  const keptDirs = new Set<string>();
  for (const file of keep) {
    for (let dir = path.dirname(file); dir !== "."; dir = path.dirname(dir)) keptDirs.add(dir);
  }
  const prune = (relative: string) => {
    for (const name of fs.readdirSync(path.join(out, relative))) {
      const child = path.join(relative, name);
      const stat = fs.lstatSync(path.join(out, child));
      if (keep.has(child)) continue;
      if (stat.isDirectory() && keptDirs.has(child)) prune(child);
      else fs.rmSync(path.join(out, child), { recursive: true, force: true });
    }
  };
  prune("node_modules");
  return { files: keep.size };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) {
    console.error("usage: tsx scripts/runtime-folder.ts <out>");
    process.exit(2);
  }
  const { files } = await makeRuntimeFolder(path.resolve(out));
  console.log(`runtime folder ${out}: ${files} files traced`);
}
