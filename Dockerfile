# syntax=docker/dockerfile:1
# Prompt Booster API: build the monorepo, then ship only the server bundle and its production dependencies.
#   docker build -t prompt-booster-api .
#   docker run -p 3000:3000 prompt-booster-api                                   (embedded PGlite in /data)
#   docker run -p 3000:3000 -e DATABASE_URL=postgresql://… prompt-booster-api     (PostgreSQL)

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: install everything, generate the Prisma client, bundle the server, cut the runtime folder ----
FROM ${NODE_IMAGE} AS build
# corepack is not reliable here; install the exact pnpm the repo pins (package.json "packageManager").
RUN npm install -g pnpm@10.34.9
ENV CI=true
WORKDIR /repo

# Dependencies first, so this layer is reused until the lockfile changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch

COPY . .
RUN pnpm install --frozen-lockfile --offline
# The Prisma client is generated (never committed); the server bundle compiles the workspace packages in.
RUN pnpm --filter @prompt-booster/db db:generate \
 && pnpm --filter @prompt-booster/server build
# The runtime folder (apps/server/scripts/runtime-folder.ts): the bundle, and of the server's production
# dependencies only the files it loads, traced from dist/main.js: no Prisma CLI or Studio, one PGlite (~40 MB).
RUN pnpm --filter @prompt-booster/server exec tsx scripts/runtime-folder.ts /out

# ---- runtime: the runtime folder (dist/main.js, dist/migrate.js, dist/schema-engine-worker.js, dist/prisma,
# traced node_modules), non-root ----
FROM ${NODE_IMAGE} AS runtime
# MALLOC_ARENA_MAX=2: glibc otherwise keeps what other threads freed (WebAssembly compilation, the migration
# worker) in per-thread arenas, 20-40 MB of resident memory the server never uses again (README, Benchmarks).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    PGLITE_DATA_DIR=/data/pglite \
    NODE_OPTIONS=--enable-source-maps \
    MALLOC_ARENA_MAX=2
WORKDIR /app
# Application files stay owned by root (read-only to the server); only the data folder is writable.
COPY --from=build /out/package.json ./package.json
COPY --from=build /out/node_modules ./node_modules
COPY --from=build /out/dist ./dist
RUN mkdir -p /data/pglite && chown -R node:node /data
# The embedded database (used when DATABASE_URL is not set) lives here.
VOLUME ["/data"]
USER node
EXPOSE 3000
# Liveness only (/health never touches the database); slim images have no curl, so use node's fetch.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Applies pending migrations, then listens; SIGTERM drains in-flight requests and exits 0.
CMD ["node", "dist/main.js"]
