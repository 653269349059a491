// What the crash test's child writes, made deterministic so the test can tell what a given cursor must hold.
import type { QueuedMutation, RejectedMutation, StoredRow, SyncChange } from "../src/sync-store.ts";
import { applyChanges } from "../src/sync-store.ts";

const ROW_COUNT = 300;
/** About 1 KB per row, so the rows file (~400 KB) takes a while to write and a kill often lands mid-write. */
const FILLER = "lorem ipsum dolor sit amet ".repeat(40);

const rowId = (n: number) => `00000000-0000-4000-8000-${String(n % ROW_COUNT).padStart(12, "0")}`;

function row(n: number, page: number): StoredRow {
  const id = rowId(n);
  return {
    entity: "template",
    id,
    rev: page,
    deleted: false,
    data: {
      id,
      name: `row ${n % ROW_COUNT} at page ${page}`,
      content: FILLER,
      description: null,
      isPublic: false,
      tags: [],
      category: null,
      metadata: { page },
      isOwner: true,
      rev: page,
      createdAt: new Date(Date.UTC(2026, 0, 1)),
      updatedAt: new Date(Date.UTC(2026, 0, 1) + page * 1000),
    },
  };
}

/** Page `page` of the pull: the first fills every row, later ones update a few and delete one. */
export function crashPage(page: number): SyncChange[] {
  if (page === 1) return Array.from({ length: ROW_COUNT }, (_, n) => row(n, page));
  return [
    row(page * 7, page),
    row(page * 11 + 1, page),
    { entity: "template", id: rowId(page * 13 + 2), rev: page, deleted: true },
  ];
}

/** The rows a store must hold at `cursor`: pages 1..cursor applied in order. */
export function rowsAtCursor(cursor: number): Map<string, StoredRow> {
  const rows = new Map<string, StoredRow>();
  for (let page = 1; page <= cursor; page++) applyChanges(rows, crashPage(page));
  return rows;
}

export const crashMutation = (mutationId: string): QueuedMutation => ({
  mutationId,
  op: "template.update",
  input: { id: rowId(0), name: `renamed by ${mutationId}` },
});

export const crashRefusal = (mutationId: string): RejectedMutation => ({
  mutation: crashMutation(mutationId),
  result: { mutationId, status: "rejected", error: { code: "BAD_REQUEST", message: "refused" } },
  at: 0,
});
