/** The ids on every page of a cursor-paged list, following each page's nextCursor to the end. */
export async function idsOfAllPages(
  page: (cursor: string | undefined) => Promise<{ items: { id: string }[]; nextCursor?: string | null }>,
): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const result = await page(cursor);
    ids.push(...result.items.map((item) => item.id));
    cursor = result.nextCursor ?? undefined;
  } while (cursor);
  return ids;
}
