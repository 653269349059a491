// The hand-written baseline of the benchmarks: Fastify + pg, no tRPC, no Prisma, no zod, no superjson. It
// runs the same queries as the real server for each benchmarked procedure: the session by the SHA-256 of
// the bearer token (joined to its user), then the procedure's own queries, with the same transaction for
// writes and the same change signal (in-process fan-out to SSE streams, and a NOTIFY) after commit.
import { createHash, randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { verify } from "@node-rs/argon2";
import Fastify from "fastify";
import pg from "pg";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_MAX ?? 10) });
const app = Fastify({ logger: false });
const subscribers = new Map<string, Set<ServerResponse>>();

const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");
const cursorOf = (key: object) => Buffer.from(JSON.stringify(key)).toString("base64url");

async function userOf(authorization: string | undefined): Promise<string | null> {
  const token = authorization?.startsWith("Bearer ") ? authorization.slice(7) : null;
  if (!token) return null;
  const { rows } = await pool.query(
    `SELECT s."expiresAt", s."absoluteExpiresAt", u.id, u.email, u.username, u."isActive"
       FROM "Session" s JOIN "User" u ON u.id = s."userId" WHERE s.id = $1`,
    [sha256Hex(token)],
  );
  const row = rows[0];
  const now = Date.now();
  if (!row || !row.isActive || row.expiresAt.getTime() <= now || row.absoluteExpiresAt.getTime() <= now) return null;
  return row.id as string;
}

const versionColumns = `v.id, v."groupId", v.number, v."originalPrompt", v."optimizedPrompt", v.reasoning, v."iterationDirection",
  v."modelId", v.provider, v."modelName", v.status, v.favorite, v.tags, v.timestamp, v.rev, v."createdAt", v."updatedAt"`;

app.get("/prompts", async (request, reply) => {
  const userId = await userOf(request.headers.authorization);
  if (!userId) return reply.code(401).send({ code: "UNAUTHORIZED" });
  const limit = 20;
  const groups = await pool.query(
    `SELECT id, "originalPrompt", "currentVersionNumber", status, rev, "createdAt", "updatedAt"
       FROM "PromptGroup" WHERE "userId" = $1 AND "deletedAt" IS NULL
      ORDER BY "createdAt" DESC, id DESC LIMIT $2`,
    [userId, limit + 1],
  );
  const shown = groups.rows.slice(0, limit);
  // As the service asks: each group's latest version by the unique (groupId, number).
  const pairs = shown.map((_, i) => `(v."groupId" = $${2 * i + 1} AND v.number = $${2 * i + 2})`).join(" OR ");
  const versions = shown.length
    ? await pool.query(
        `SELECT ${versionColumns} FROM "PromptVersion" v WHERE v."deletedAt" IS NULL AND (${pairs})`,
        shown.flatMap((g) => [g.id, g.currentVersionNumber]),
      )
    : { rows: [] };
  const byGroup = new Map(versions.rows.map((v) => [v.groupId, v]));
  const last = shown.at(-1);
  return {
    items: shown.map((g) => ({ ...g, latestVersion: byGroup.get(g.id) ?? null })),
    nextCursor: groups.rows.length > limit && last ? cursorOf({ t: last.createdAt.toISOString(), id: last.id }) : null,
  };
});

app.get("/settings", async (request, reply) => {
  const userId = await userOf(request.headers.authorization);
  if (!userId) return reply.code(401).send({ code: "UNAUTHORIZED" });
  const { rows } = await pool.query(
    `SELECT id, theme, language, "defaultModel", "settingsData", rev, "createdAt", "updatedAt"
       FROM "UserSettings" WHERE "userId" = $1 AND "deletedAt" IS NULL`,
    [userId],
  );
  return rows[0] ?? reply.code(404).send({ code: "NOT_FOUND" });
});

// templates.list, scope public, sorted by updated, with a text query over name, description and content.
app.get<{ Querystring: { q?: string } }>("/templates", async (request, reply) => {
  const userId = await userOf(request.headers.authorization);
  if (!userId) return reply.code(401).send({ code: "UNAUTHORIZED" });
  const limit = 20;
  const pattern = `%${(request.query.q ?? "").replace(/[\\%_]/g, "\\$&")}%`;
  const { rows } = await pool.query(
    `SELECT id, "userId", name, content, description, "isPublic", tags, category, metadata, rev, "createdAt", "updatedAt"
       FROM "Template"
      WHERE "deletedAt" IS NULL AND "isPublic" AND (name ILIKE $1 OR description ILIKE $1 OR content ILIKE $1)
      ORDER BY "updatedAt" DESC, id DESC LIMIT $2`,
    [pattern, limit + 1],
  );
  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  return {
    items: shown.map(({ userId: owner, ...row }) => ({ ...row, isOwner: owner === userId })),
    nextCursor:
      rows.length > limit && last ? cursorOf({ s: "updated", t: last.updatedAt.toISOString(), id: last.id }) : null,
  };
});

interface AddVersionBody {
  optimizedPrompt: string;
  iterationDirection?: string;
  modelId: string;
  provider: string;
  modelName: string;
}

// prompts.addVersion: the next revision under the user's row lock, the group, the version, the group's bump.
app.post<{ Params: { groupId: string }; Body: AddVersionBody }>(
  "/prompts/:groupId/versions",
  async (request, reply) => {
    const userId = await userOf(request.headers.authorization);
    if (!userId) return reply.code(401).send({ code: "UNAUTHORIZED" });
    const body = request.body;
    const client = await pool.connect();
    let version;
    try {
      await client.query("BEGIN");
      const { rows: users } = await client.query(
        `UPDATE "User" SET revision = revision + 1, "updatedAt" = now() WHERE id = $1 RETURNING revision`,
        [userId],
      );
      const rev = users[0].revision as number;
      const { rows: groups } = await client.query(
        `SELECT id, "originalPrompt", "currentVersionNumber" FROM "PromptGroup"
          WHERE id = $1 AND "userId" = $2 AND "deletedAt" IS NULL`,
        [request.params.groupId, userId],
      );
      const group = groups[0];
      if (!group) {
        await client.query("ROLLBACK");
        return reply.code(404).send({ code: "NOT_FOUND" });
      }
      const number = group.currentVersionNumber + 1;
      const { rows } = await client.query(
        `INSERT INTO "PromptVersion" AS v (id, "groupId", "userId", number, "originalPrompt", "optimizedPrompt",
                                           "iterationDirection", "modelId", provider, "modelName", status, rev, "updatedAt")
         VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, $8, $9, 'completed', $10, now())
         RETURNING ${versionColumns}`,
        [
          group.id,
          userId,
          number,
          group.originalPrompt,
          body.optimizedPrompt,
          body.iterationDirection ?? null,
          body.modelId,
          body.provider,
          body.modelName,
          rev,
        ],
      );
      await client.query(
        `UPDATE "PromptGroup" SET "currentVersionNumber" = $2, rev = $3, "updatedAt" = now() WHERE id = $1`,
        [group.id, number, rev],
      );
      await client.query("COMMIT");
      version = rows[0];
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
    publish(userId, version.rev);
    return version;
  },
);

// sync.pull from a cursor: the user's revision and horizon, then up to limit + 1 rows of each synced table.
app.get<{ Querystring: { since: string; limit?: string } }>("/sync/pull", async (request, reply) => {
  const userId = await userOf(request.headers.authorization);
  if (!userId) return reply.code(401).send({ code: "UNAUTHORIZED" });
  const since = Number(request.query.since);
  const limit = Number(request.query.limit ?? 500);
  const { rows: users } = await pool.query(`SELECT revision, "syncHorizon" FROM "User" WHERE id = $1`, [userId]);
  const { revision, syncHorizon } = users[0];
  if (since > revision || since < syncHorizon) return reply.code(409).send({ code: "CONFLICT" });
  const scan = (entity: string, table: string, columns: string) =>
    pool
      .query(
        `SELECT ${columns}, "deletedAt" FROM "${table}" v WHERE "userId" = $1 AND rev > $2 AND rev <= $3 ORDER BY rev LIMIT $4`,
        [userId, since, revision, limit + 1],
      )
      .then(({ rows }) =>
        rows.map(({ deletedAt, ...data }) =>
          deletedAt
            ? { entity, id: data.id, rev: data.rev, deleted: true }
            : { entity, id: data.id, rev: data.rev, deleted: false, data },
        ),
      );
  const parts = await Promise.all([
    scan(
      "settings",
      "UserSettings",
      `id, theme, language, "defaultModel", "settingsData", rev, "createdAt", "updatedAt"`,
    ),
    scan(
      "template",
      "Template",
      `id, name, content, description, "isPublic", tags, category, metadata, rev, "createdAt", "updatedAt"`,
    ),
    scan(
      "promptGroup",
      "PromptGroup",
      `id, "originalPrompt", "currentVersionNumber", status, rev, "createdAt", "updatedAt"`,
    ),
    scan("promptVersion", "PromptVersion", versionColumns),
  ]);
  const order: Record<string, number> = { settings: 0, template: 1, promptGroup: 2, promptVersion: 3 };
  const rows = parts.flat().sort((a, b) => a.rev - b.rev || order[a.entity]! - order[b.entity]!);
  if (rows.length <= limit) return { changes: rows, cursor: revision, hasMore: false };
  const firstLeftOut = rows[limit]!.rev;
  const page = rows.filter((change) => change.rev < firstLeftOut);
  return { changes: page, cursor: page.at(-1)!.rev, hasMore: true };
});

// auth.login by email: the user, an argon2id verify, a new session.
app.post<{ Body: { email: string; password: string } }>("/auth/login", async (request, reply) => {
  const { rows } = await pool.query(
    `SELECT id, email, username, "hashedPassword", "isActive" FROM "User" WHERE email = $1`,
    [request.body.email],
  );
  const user = rows[0];
  if (!user || !(await verify(user.hashedPassword, request.body.password)) || !user.isActive) {
    return reply.code(401).send({ code: "UNAUTHORIZED" });
  }
  const token = randomBytes(20).toString("base64url");
  const now = Date.now();
  const expiresAt = new Date(now + 30 * 24 * 3_600_000);
  await pool.query(
    `INSERT INTO "Session" (id, "userId", "expiresAt", "absoluteExpiresAt", "createdAt", "lastUsedAt", "userAgent", ip)
     VALUES ($1, $2, $3, $4, $5, $5, $6, $7)`,
    [
      sha256Hex(token),
      user.id,
      expiresAt,
      new Date(now + 90 * 24 * 3_600_000),
      new Date(now),
      request.headers["user-agent"] ?? null,
      request.ip,
    ],
  );
  return { token, expiresAt, user: { id: user.id, email: user.email, username: user.username } };
});

// sync.subscribe: the user's revision now, then each newer one, as server-sent events.
app.get("/sync/subscribe", async (request, reply) => {
  const userId = await userOf(request.headers.authorization);
  if (!userId) return reply.code(401).send({ code: "UNAUTHORIZED" });
  const { rows } = await pool.query(`SELECT revision FROM "User" WHERE id = $1`, [userId]);
  reply.hijack();
  const response = reply.raw;
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  response.write(`id: ${rows[0].revision}\ndata: {"revision":${rows[0].revision}}\n\n`);
  let set = subscribers.get(userId);
  if (!set) subscribers.set(userId, (set = new Set()));
  set.add(response);
  response.once("close", () => set.delete(response));
});

function publish(userId: string, revision: number): void {
  for (const response of subscribers.get(userId) ?? []) {
    response.write(`id: ${revision}\ndata: {"revision":${revision}}\n\n`);
  }
  pool.query(`SELECT pg_notify('bench_baseline', $1)`, [JSON.stringify({ u: userId, r: revision })]).catch(() => {});
}

app.get("/ready", async () => {
  await pool.query("SELECT 1");
  return { status: "ok" };
});

const address = await app.listen({ host: "127.0.0.1", port: Number(process.env.PORT ?? 0) });
console.log(`listening ${address}`);
process.on("SIGTERM", () => {
  for (const set of subscribers.values()) for (const response of set) response.destroy();
  void app
    .close()
    .then(() => pool.end())
    .then(() => process.exit(0));
});
