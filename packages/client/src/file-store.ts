// A SyncStore in two files of a directory the app chooses (Node, Electron's main process): rows.json holds the
// rows and the cursor (written together by apply and reset), queue.json the offline writes and the refused ones
// (written together by enqueue, settle and forgetRejected), so queueing a write never rewrites the history.
// Each write replaces a file whole: a temporary file in the same directory, fsync, rename over the old one,
// fsync the directory. A crash (kill -9, power loss) leaves the old file or the new one, never a mix.
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import superjson from "superjson";

import {
  applyChanges,
  rowKey,
  type QueuedMutation,
  type RejectedMutation,
  type StoredRow,
  type StoredState,
  type SyncChange,
  type SyncStore,
} from "./sync-store.ts";

const ROWS_FILE = "rows.json";
const QUEUE_FILE = "queue.json";
const FORMAT = 1;
/** What writeDurably names its temporary files: the target's name, random hex, ".tmp". */
const TEMPORARY = /^(rows|queue)\.json\.[0-9a-f]+\.tmp$/;

interface RowsFile {
  format: typeof FORMAT;
  cursor: number | undefined;
  rows: StoredRow[];
}
interface QueueFile {
  format: typeof FORMAT;
  pending: QueuedMutation[];
  rejected: RejectedMutation[];
}

/**
 * A store file that exists but cannot be read back. The store never writes a torn file, so this is damage from
 * outside (disk, another program): rather than start empty and silently lose the queued writes, the store
 * refuses to open. Deleting rows.json is safe (the next pull is a full snapshot); deleting queue.json loses the
 * offline writes it holds.
 */
export class SyncStoreFileError extends Error {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(`FileSyncStore: ${file} cannot be read (${cause instanceof Error ? cause.message : String(cause)})`, {
      cause,
    });
    this.name = "SyncStoreFileError";
  }
}

/** Keeps a device's rows, cursor and offline writes in `directory`, durable across crashes and restarts. */
export class FileSyncStore implements SyncStore {
  readonly rowsFile: string;
  readonly queueFile: string;
  private rowsState: { cursor: number | undefined; rows: Map<string, StoredRow> } | undefined;
  private queueState: { pending: QueuedMutation[]; rejected: RejectedMutation[] } | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private strayRemoved = false;

  /** One directory per device copy (per user): two stores must never share one. */
  constructor(readonly directory: string) {
    this.rowsFile = path.join(directory, ROWS_FILE);
    this.queueFile = path.join(directory, QUEUE_FILE);
  }

  load(): Promise<StoredState> {
    return this.serial(async () => {
      const { cursor, rows } = await this.rows();
      const { pending, rejected } = await this.queue();
      return { cursor, rows: [...rows.values()], pending: [...pending], rejected: [...rejected] };
    });
  }

  apply(changes: SyncChange[], cursor: number): Promise<void> {
    return this.serial(async () => {
      const current = await this.rows();
      const rows = new Map(current.rows);
      applyChanges(rows, changes);
      await this.writeRows({ cursor, rows });
    });
  }

  reset(): Promise<void> {
    return this.serial(() => this.writeRows({ cursor: undefined, rows: new Map() }));
  }

  enqueue(mutation: QueuedMutation): Promise<void> {
    return this.serial(async () => {
      const { pending, rejected } = await this.queue();
      await this.writeQueue({ pending: [...pending, mutation], rejected });
    });
  }

  settle(answered: string[], rejected: RejectedMutation[]): Promise<void> {
    const done = new Set(answered);
    return this.serial(async () => {
      const current = await this.queue();
      await this.writeQueue({
        pending: current.pending.filter((mutation) => !done.has(mutation.mutationId)),
        rejected: [...current.rejected, ...rejected],
      });
    });
  }

  forgetRejected(mutationIds: string[]): Promise<void> {
    const gone = new Set(mutationIds);
    return this.serial(async () => {
      const current = await this.queue();
      await this.writeQueue({
        pending: current.pending,
        rejected: current.rejected.filter((entry) => !gone.has(entry.mutation.mutationId)),
      });
    });
  }

  /** One operation at a time, in call order: a later write never overtakes an earlier one. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work, work);
    this.chain = run.catch(() => {});
    return run;
  }

  // The files are read once (the first operation also removes temporary files a crash left behind); after that
  // the store keeps what it last wrote, and changes it only once the write is durable.
  private async rows() {
    if (!this.rowsState) {
      await this.removeStrayTemporaries();
      const file = await readStoreFile<RowsFile>(this.rowsFile, (data) => Array.isArray(data.rows));
      this.rowsState = { cursor: file?.cursor, rows: new Map((file?.rows ?? []).map((row) => [rowKey(row), row])) };
    }
    return this.rowsState;
  }

  private async queue() {
    if (!this.queueState) {
      await this.removeStrayTemporaries();
      const file = await readStoreFile<QueueFile>(
        this.queueFile,
        (data) => Array.isArray(data.pending) && Array.isArray(data.rejected),
      );
      this.queueState = { pending: file?.pending ?? [], rejected: file?.rejected ?? [] };
    }
    return this.queueState;
  }

  private async writeRows(state: NonNullable<FileSyncStore["rowsState"]>) {
    const file: RowsFile = { format: FORMAT, cursor: state.cursor, rows: [...state.rows.values()] };
    await writeDurably(this.rowsFile, superjson.stringify(file));
    this.rowsState = state;
  }

  private async writeQueue(state: NonNullable<FileSyncStore["queueState"]>) {
    const file: QueueFile = { format: FORMAT, ...state };
    await writeDurably(this.queueFile, superjson.stringify(file));
    this.queueState = state;
  }

  private async removeStrayTemporaries() {
    if (this.strayRemoved) return;
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    await Promise.all(names.filter((name) => TEMPORARY.test(name)).map((name) => rm(path.join(this.directory, name))));
    this.strayRemoved = true;
  }
}

/** The file's content; undefined when there is none yet. Throws SyncStoreFileError when it does not parse. */
async function readStoreFile<T extends { format: number }>(
  file: string,
  isComplete: (data: T) => boolean,
): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new SyncStoreFileError(file, error);
  }
  let data: T;
  try {
    data = superjson.parse<T>(text);
  } catch (error) {
    throw new SyncStoreFileError(file, error);
  }
  if (typeof data !== "object" || data === null || !isComplete(data)) {
    throw new SyncStoreFileError(file, new Error("not a sync store file"));
  }
  if (data.format !== FORMAT) throw new SyncStoreFileError(file, new Error(`unknown format ${String(data.format)}`));
  return data;
}

/** Replaces `file` with `text` so that a crash at any moment leaves the old content or the new, whole. */
async function writeDurably(file: string, text: string): Promise<void> {
  const directory = path.dirname(file);
  await mkdir(directory, { recursive: true });
  const temporary = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    const handle = await open(temporary, "w", 0o600);
    try {
      await handle.writeFile(text, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(directory);
}

/** Makes the rename itself durable. Windows cannot open a directory for fsync; its renames are journaled. */
async function syncDirectory(directory: string): Promise<void> {
  if (process.platform === "win32") return;
  const handle = await open(directory, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
