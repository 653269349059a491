// Bulk inserts for import: a batch of rows in one statement with one parameter. Prisma's createMany spends
// about 1–2 ms of CPU per row building and binding its parameters (100–250 ms for a batch of 100 versions,
// measured on both databases), and the event loop serves no other request meanwhile; the same insert
// through jsonb_to_recordset takes a few milliseconds.
import type { Tx } from "../lib/write.ts";
import type { GroupRow, TemplateRow, VersionRow } from "./items.ts";

/** Every column a row sets, with the PostgreSQL type jsonb_to_recordset reads it as. */
type ColumnTypes<Row> = { readonly [K in keyof Row]-?: string };

const everyRow = { createdAt: "timestamptz", updatedAt: "timestamptz", rev: "int" } as const;

export const groupColumns = {
  id: "uuid",
  userId: "uuid",
  originalPrompt: "text",
  currentVersionNumber: "int",
  status: '"PromptGroupStatus"',
  ...everyRow,
} as const satisfies ColumnTypes<GroupRow & { rev: number }>;

export const versionColumns = {
  id: "uuid",
  groupId: "uuid",
  userId: "uuid",
  number: "int",
  originalPrompt: "text",
  optimizedPrompt: "text",
  reasoning: "text",
  iterationDirection: "text",
  modelId: "text",
  provider: "text",
  modelName: "text",
  status: '"PromptVersionStatus"',
  favorite: "boolean",
  tags: "text[]",
  timestamp: "timestamptz",
  ...everyRow,
} as const satisfies ColumnTypes<VersionRow & { rev: number }>;

export const templateColumns = {
  id: "uuid",
  userId: "uuid",
  name: "text",
  content: "text",
  metadata: "jsonb",
  description: "text",
  isPublic: "boolean",
  tags: "text[]",
  category: "text",
  ...everyRow,
} as const satisfies ColumnTypes<TemplateRow & { rev: number }>;

export async function insertRows<Row extends object>(
  tx: Tx,
  table: "PromptGroup" | "PromptVersion" | "Template",
  columns: ColumnTypes<Row>,
  rows: Row[],
): Promise<void> {
  if (rows.length === 0) return;
  const names = Object.keys(columns) as (keyof Row & string)[];
  const list = names.map((name) => `"${name}"`).join(", ");
  const record = names.map((name) => `"${name}" ${columns[name]}`).join(", ");
  // The statement is made of the constant names above only; the rows travel as the one parameter.
  await tx.$executeRawUnsafe(
    `INSERT INTO "${table}" (${list}) SELECT ${list} FROM jsonb_to_recordset($1::jsonb) AS row(${record})`,
    JSON.stringify(rows),
  );
}
