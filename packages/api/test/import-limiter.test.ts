import { describe, expect, it } from "vitest";

import { createImportLimiter } from "../src/import/limiter.ts";
import { expectAppError } from "./support/errors.ts";

/** A task the test finishes by hand, recording when it starts. */
function gate(name: string, started: string[]) {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return { work: () => (started.push(name), done.then(() => name)), finish };
}

describe("createImportLimiter", () => {
  it("runs at most `concurrency` at once, the rest in order of arrival, and refuses past the queue", async () => {
    const limiter = createImportLimiter({ concurrency: 2, queueMax: 2 });
    const started: string[] = [];
    const tasks = ["a", "b", "c", "d"].map((name) => gate(name, started));
    const results = tasks.map((task) => limiter.run(task.work));
    await expectAppError(
      limiter.run(async () => "e"),
      "TOO_MANY_REQUESTS",
    );
    await Promise.resolve();
    expect(started).toEqual(["a", "b"]);

    tasks[1]!.finish();
    expect(await results[1]).toBe("b");
    expect(started).toEqual(["a", "b", "c"]);
    // A newcomer waits behind d, which was queued first: the queue has room again.
    const late = gate("late", started);
    const lateResult = limiter.run(late.work);
    tasks[0]!.finish();
    await results[0];
    expect(started).toEqual(["a", "b", "c", "d"]);

    tasks[2]!.finish();
    tasks[3]!.finish();
    late.finish();
    expect(await Promise.all([...results, lateResult])).toEqual(["a", "b", "c", "d", "late"]);
    expect(started).toEqual(["a", "b", "c", "d", "late"]);
  });

  it("frees the turn of a failed import", async () => {
    const limiter = createImportLimiter({ concurrency: 1, queueMax: 0 });
    await expect(limiter.run(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await limiter.run(async () => "next")).toBe("next");
  });
});
