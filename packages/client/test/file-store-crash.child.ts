// The crash test's child process (bundled by file-store-crash.test.ts, then killed with SIGKILL at a random
// moment): writes to a FileSyncStore as fast as it can, and prints what the store acknowledged, each line
// only after the promise resolved. Usage: node child.mjs <directory> <prefix>
import { writeSync } from "node:fs";

import { FileSyncStore } from "../src/file-store.ts";
import { crashPage, crashMutation, crashRefusal } from "./file-store-crash.pages.ts";

const [directory, prefix] = process.argv.slice(2) as [string, string];
const say = (line: string) => writeSync(1, `${line}\n`);

const store = new FileSyncStore(directory);
const state = await store.load();
let cursor = state.cursor ?? 0;
const pending = state.pending.map((mutation) => mutation.mutationId);
say("ready");

for (let i = 0; ; i++) {
  const mutation = crashMutation(`${prefix}-${String(i).padStart(6, "0")}`);
  const page = ++cursor;
  // Not awaited one by one: the store's own ordering is under test too.
  const writes = [
    store.enqueue(mutation).then(() => say(`queued ${mutation.mutationId}`)),
    store.apply(crashPage(page), page).then(() => say(`applied ${page}`)),
  ];
  pending.push(mutation.mutationId);
  if (i % 3 === 2) {
    // The two oldest are answered: the first applied, the second refused.
    const [applied, refused] = pending.splice(0, 2) as [string, string];
    // Said before: if the kill comes after the settle is durable but before it is acknowledged, the test
    // still knows these two may have left the queue.
    say(`settling ${applied} ${refused}`);
    writes.push(
      store.settle([applied, refused], [crashRefusal(refused)]).then(() => say(`settled ${applied} ${refused}`)),
    );
  }
  await Promise.all(writes);
}
