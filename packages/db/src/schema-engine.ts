// Prisma's schema engine compiled to WebAssembly: migrations without the native binary, which
// cannot be downloaded everywhere. Node cannot import a .wasm file as a module, so it is instantiated
// by hand with its JS bindings as imports, once per process.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import * as bindings from "@prisma/schema-engine-wasm/schema_engine_bg";
import type { MigrationDirectory, MigrationList, SchemaEngine, SchemaFilter } from "@prisma/schema-engine-wasm";

// Node has WebAssembly, but this project's type libraries (ES + Node, no DOM) do not describe it.
declare const WebAssembly: {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }>;
};

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));

/** The schema and migrations: `../prisma` from this source file, or `./prisma` beside a bundled server. */
export const prismaDir =
  [path.join(here, "..", "prisma"), path.join(here, "prisma")].find((dir) =>
    fs.existsSync(path.join(dir, "schema.prisma")),
  ) ?? path.join(here, "..", "prisma");
export const schemaPath = path.join(prismaDir, "schema.prisma");
export const migrationsDir = path.join(prismaDir, "migrations");
export const noFilters: SchemaFilter = { externalTables: [], externalEnums: [] };

let loaded: Promise<void> | undefined;

function loadWasm(): Promise<void> {
  loaded ??= (async () => {
    const wasmFile = require.resolve("@prisma/schema-engine-wasm/schema_engine_bg").replace(/\.js$/, ".wasm");
    const { instance } = await WebAssembly.instantiate(fs.readFileSync(wasmFile), {
      "./schema_engine_bg.js": bindings,
    });
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports as { __wbindgen_start?: () => void }).__wbindgen_start?.();
  })();
  return loaded;
}

export function readSchema(): string {
  return fs.readFileSync(schemaPath, "utf8");
}

export async function openSchemaEngine(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  schema = readSchema(),
): Promise<SchemaEngine> {
  await loadWasm();
  // The engine expects adapters whose calls return Result objects: the bound factory provides them.
  return bindings.SchemaEngine.new(
    { datamodels: [["schema.prisma", schema]] },
    () => {},
    bindMigrationAwareSqlAdapterFactory(adapterFactory),
  );
}

/** The committed migration folders, in name order, as the engine wants them. */
export function readMigrations(dir = migrationsDir): MigrationList {
  const directories: MigrationDirectory[] = fs.existsSync(dir)
    ? fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .sort()
        .map((name) => {
          const file = path.join(dir, name, "migration.sql");
          return {
            path: name,
            migrationFile: {
              path: "migration.sql",
              content: fs.existsSync(file)
                ? { tag: "ok" as const, value: fs.readFileSync(file, "utf8") }
                : { tag: "error" as const, value: `${file} is missing` },
            },
          };
        })
    : [];
  const lockPath = path.join(dir, "migration_lock.toml");
  return {
    baseDir: dir,
    lockfile: {
      path: "migration_lock.toml",
      content: fs.existsSync(lockPath) ? fs.readFileSync(lockPath, "utf8") : null,
    },
    shadowDbInitScript: "",
    migrationDirectories: directories,
  };
}
