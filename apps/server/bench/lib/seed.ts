// A realistic population, written with set-based SQL (INSERT … SELECT over generate_series, and one
// multi-row insert of sessions), valid for the API: every user has settings, a session, revisions that
// match their rows (User.revision is the highest one handed out), groups whose currentVersionNumber is their
// last version, and versions numbered 1..n.
import { createHash, randomBytes } from "node:crypto";
import { hash } from "@node-rs/argon2";
import pg from "pg";

import { generateSessionToken, PASSWORD_HASH_PARAMS, sessionIdOf } from "@prompt-booster/api";

export interface PopulationPlan {
  /** Ordinary users, each with a few prompt groups, templates and one session. */
  users: number;
  groupsPerUser: number;
  versionsPerGroup: number;
  /** Spread over the ordinary users, 5 each. */
  publicTemplates: number;
  privateTemplatesPerUser: number;
  /** Users with long histories (versions = groups × 5): the heavy one, and smaller ones to compare page times. */
  historyUsers: number[];
}

export const defaultPlan: PopulationPlan = {
  users: 1_000,
  groupsPerUser: 10,
  versionsPerGroup: 2,
  publicTemplates: 5_000,
  privateTemplatesPerUser: 2,
  historyUsers: [100_000, 10_000, 1_000],
};

export interface BenchUser {
  index: number;
  id: string;
  email: string;
  token: string;
  /** A group of this user (its first), for addVersion. */
  groupId: string;
  versions: number;
  revision: number;
}

export interface Population {
  password: string;
  /** The ordinary users. */
  users: BenchUser[];
  /** One per `historyUsers` entry, in that order (the first is the heavy one). */
  historyUsers: BenchUser[];
  counts: Record<string, number>;
  seconds: number;
}

const HISTORY_VERSIONS_PER_GROUP = 5;
/** Words that template text is built from; "translate" is in every 8th template. */
const WORDS = ["rewrite", "summarise", "explain", "shorten", "expand", "critique", "outline", "translate"];

export const userIdOf = (index: number) => uuidOf(`user:${index}`);
export const groupIdOf = (userIndex: number, group: number) => uuidOf(`group:${userIndex}:${group}`);

/** A stable UUID (v4-shaped) for a name, so the bench knows ids without reading them back. */
function uuidOf(name: string): string {
  const hex = createHash("sha256").update(name).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export async function seedPopulation(databaseUrl: string, plan: PopulationPlan = defaultPlan): Promise<Population> {
  const started = performance.now();
  const password = `bench password ${randomBytes(4).toString("hex")}`;
  // One argon2id hash shared by every account: hashing 1,000 (by design slow) would take a minute.
  const hashedPassword = await hash(password, { algorithm: 2, ...PASSWORD_HASH_PARAMS });

  // Users 1..k have long histories; k+1..k+users are the ordinary ones.
  const shapes = [
    ...plan.historyUsers.map((versions) => ({
      groups: versions / HISTORY_VERSIONS_PER_GROUP,
      perGroup: HISTORY_VERSIONS_PER_GROUP,
      publicTemplates: 0,
    })),
    ...Array.from({ length: plan.users }, (_, i) => ({
      groups: plan.groupsPerUser,
      perGroup: plan.versionsPerGroup,
      publicTemplates: Math.floor(plan.publicTemplates / plan.users) + (i < plan.publicTemplates % plan.users ? 1 : 0),
    })),
  ];
  const all: BenchUser[] = shapes.map((shape, i) => {
    const index = i + 1;
    const templates = shape.publicTemplates + plan.privateTemplatesPerUser;
    return {
      index,
      id: userIdOf(index),
      email: `bench-${index}@example.com`,
      token: generateSessionToken(),
      groupId: groupIdOf(index, 1),
      versions: shape.groups * shape.perGroup,
      // Revision 1: settings; then one per template; then one per version (a group shares its first).
      revision: 1 + templates + shape.groups * shape.perGroup,
    };
  });

  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query("BEGIN");
    // The plan as a table: per user, how many groups, versions per group, templates, and the first revision of its prompts.
    // The same name → UUID mapping as uuidOf, in SQL.
    await client.query(
      `CREATE FUNCTION pg_temp.bench_uuid(name text) RETURNS uuid LANGUAGE sql IMMUTABLE AS $$
         SELECT (substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-8' || substr(h, 18, 3) || '-' ||
                 substr(h, 21, 12))::uuid
           FROM (SELECT encode(sha256(convert_to(name, 'UTF8')), 'hex') AS h) AS x $$`,
    );
    await client.query(
      `CREATE TEMP TABLE plan (i int, id uuid, groups int, per_group int, pub int, priv int, base int)`,
    );
    await client.query(
      `INSERT INTO plan SELECT * FROM unnest($1::int[], $2::uuid[], $3::int[], $4::int[], $5::int[], $6::int[], $7::int[])`,
      [
        all.map((u) => u.index),
        all.map((u) => u.id),
        shapes.map((s) => s.groups),
        shapes.map((s) => s.perGroup),
        shapes.map((s) => s.publicTemplates),
        shapes.map(() => plan.privateTemplatesPerUser),
        shapes.map((s) => 1 + s.publicTemplates + plan.privateTemplatesPerUser),
      ],
    );
    await client.query(
      `INSERT INTO "User" (id, email, username, "usernameKey", "hashedPassword", revision, "createdAt", "updatedAt")
       SELECT id, 'bench-' || i || '@example.com', 'bench_' || i, 'bench_' || i, $1, base + groups * per_group,
              timestamp '2025-01-01', now()
         FROM plan`,
      [hashedPassword],
    );
    await client.query(
      `INSERT INTO "UserSettings" (id, "userId", theme, language, "defaultModel", "settingsData", rev, "updatedAt")
       SELECT gen_random_uuid(), id, (ARRAY['light','dark','system'])[1 + i % 3]::"Theme", 'en-US', 'gpt-4o-mini',
              jsonb_build_object('fontSize', 14, 'autoSave', true, 'models', jsonb_build_array('gpt-4o-mini', 'claude')),
              1, now()
         FROM plan`,
    );
    await client.query(
      `INSERT INTO "Template" (id, "userId", name, content, description, "isPublic", tags, category, metadata, rev,
                               "createdAt", "updatedAt")
       SELECT gen_random_uuid(), p.id,
              initcap(($1::text[])[1 + (p.i + t) % 8]) || ' helper ' || p.i || '-' || t,
              '# Role: ' || ($1::text[])[1 + (p.i + t) % 8] || ' assistant' || E'\\n' ||
                repeat('Take the user''s prompt and make it precise, specific and testable. ', 12),
              'Helps you ' || ($1::text[])[1 + (p.i + t) % 8] || ' a prompt',
              t <= p.pub, ARRAY['bench', ($1::text[])[1 + (p.i + t) % 8]], (ARRAY['optimize','iterate','analyze','custom'])[1 + t % 4],
              jsonb_build_object('version', '1.0', 'author', 'bench'), 1 + t,
              timestamp '2025-01-01' + (p.i * 100 + t) * interval '1 second',
              timestamp '2025-01-01' + (p.i * 100 + t) * interval '1 second'
         FROM plan p CROSS JOIN LATERAL generate_series(1, p.pub + p.priv) AS t`,
      [WORDS],
    );
    // Group g takes revisions base + (g-1)·n + 1 … base + g·n (version k at base + (g-1)·n + k), as if created
    // and then iterated; its own rev is that of its last version, as addVersion leaves it.
    await client.query(
      `INSERT INTO "PromptGroup" (id, "userId", "originalPrompt", "currentVersionNumber", status, rev, "createdAt", "updatedAt")
       SELECT pg_temp.bench_uuid('group:' || p.i || ':' || g), p.id,
              'Prompt ' || g || ': ' || repeat('make it clearer and more specific ', 6), p.per_group, 'completed',
              p.base + g * p.per_group,
              timestamp '2025-01-01' + g * interval '1 minute', timestamp '2025-01-01' + g * interval '1 minute'
         FROM plan p CROSS JOIN LATERAL generate_series(1, p.groups) AS g`,
    );
    await client.query(
      `INSERT INTO "PromptVersion" (id, "groupId", "userId", number, "originalPrompt", "optimizedPrompt", reasoning,
                                    "iterationDirection", "modelId", provider, "modelName", status, favorite, tags,
                                    timestamp, rev, "createdAt", "updatedAt")
       SELECT gen_random_uuid(), pg_temp.bench_uuid('group:' || p.i || ':' || g), p.id, k,
              'Prompt ' || g || ': ' || repeat('make it clearer and more specific ', 6),
              repeat('# Task' || E'\\n' || 'Do the thing well, step by step. ', 24), 'Clearer structure and constraints',
              CASE WHEN k > 1 THEN 'more concise' END, 'gpt-4o-mini', 'openai', 'GPT-4o mini', 'completed',
              k = p.per_group AND g % 7 = 0, ARRAY['bench'],
              timestamp '2025-01-01' + g * interval '1 minute' + k * interval '1 second', p.base + (g - 1) * p.per_group + k,
              timestamp '2025-01-01' + g * interval '1 minute' + k * interval '1 second',
              timestamp '2025-01-01' + g * interval '1 minute' + k * interval '1 second'
         FROM plan p CROSS JOIN LATERAL generate_series(1, p.groups) AS g CROSS JOIN LATERAL generate_series(1, p.per_group) AS k`,
    );
    const now = Date.now();
    await client.query(
      `INSERT INTO "Session" (id, "userId", "expiresAt", "absoluteExpiresAt", "createdAt", "lastUsedAt", "userAgent", ip, "deviceName")
       SELECT s, u, $3, $4, $5, $5, 'bench', '127.0.0.1', 'bench' FROM unnest($1::text[], $2::uuid[]) AS x(s, u)`,
      [
        all.map((u) => sessionIdOf(u.token)),
        all.map((u) => u.id),
        new Date(now + 29 * 24 * 3_600_000),
        new Date(now + 89 * 24 * 3_600_000),
        // Used just now, so the hourly slide of the expiry is not due during the run.
        new Date(now),
      ],
    );
    await client.query("COMMIT");
    await client.query(`ANALYZE`);
    const counts: Record<string, number> = {};
    for (const table of ["User", "Session", "UserSettings", "Template", "PromptGroup", "PromptVersion"]) {
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`);
      counts[table] = Number(rows[0]!.n);
    }
    return {
      password,
      historyUsers: all.slice(0, plan.historyUsers.length),
      users: all.slice(plan.historyUsers.length),
      counts,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
}
