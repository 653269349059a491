// The hand-written baseline for bench/api.ts: Fastify + pg, no tRPC, no Prisma, no zod. It runs the same
// queries as the real server for an authenticated prompts.list (first page, 20 rows) and settings.get:
// the session by the SHA-256 of the bearer token (joined to its user), then the data.
import { createHash } from "node:crypto";
import Fastify from "fastify";
import pg from "pg";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_MAX ?? 10) });
const app = Fastify({ logger: false });

async function userOf(authorization: string | undefined): Promise<string | null> {
  const token = authorization?.startsWith("Bearer ") ? authorization.slice(7) : null;
  if (!token) return null;
  const id = createHash("sha256").update(token).digest("hex");
  const { rows } = await pool.query(
    `SELECT s."expiresAt", s."absoluteExpiresAt", u.id, u.email, u.username, u."isActive"
       FROM "Session" s JOIN "User" u ON u.id = s."userId" WHERE s.id = $1`,
    [id],
  );
  const row = rows[0];
  const now = Date.now();
  if (!row || !row.isActive || row.expiresAt.getTime() <= now || row.absoluteExpiresAt.getTime() <= now) return null;
  return row.id as string;
}

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
        `SELECT v.id, v."groupId", v.number, v."originalPrompt", v."optimizedPrompt", v.reasoning, v."iterationDirection",
                v."modelId", v.provider, v."modelName", v.status, v.favorite, v.tags, v.timestamp, v.rev, v."createdAt", v."updatedAt"
           FROM "PromptVersion" v WHERE v."deletedAt" IS NULL AND (${pairs})`,
        shown.flatMap((g) => [g.id, g.currentVersionNumber]),
      )
    : { rows: [] };
  const byGroup = new Map(versions.rows.map((v) => [v.groupId, v]));
  const last = shown.at(-1);
  return {
    items: shown.map((g) => ({ ...g, latestVersion: byGroup.get(g.id) ?? null })),
    nextCursor:
      groups.rows.length > limit && last
        ? Buffer.from(JSON.stringify({ t: last.createdAt.toISOString(), id: last.id })).toString("base64url")
        : null,
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

const address = await app.listen({ host: "127.0.0.1", port: Number(process.env.PORT ?? 0) });
console.log(`listening ${address}`);
process.on(
  "SIGTERM",
  () =>
    void app
      .close()
      .then(() => pool.end())
      .then(() => process.exit(0)),
);
