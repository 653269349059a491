// How many imports a process runs at once. An import is the heaviest request there is (up to 10,000 rows);
// unbounded, a dozen of them take every database connection and every other user waits. The rest wait in
// a short queue, and past it are refused at once rather than left to time out.
import { AppError } from "../lib/errors.ts";

export interface ImportLimits {
  /** Imports running at once; each holds at most one connection at a time. */
  concurrency: number;
  /** Imports waiting for a turn; one more is refused with TOO_MANY_REQUESTS. */
  queueMax: number;
}

export interface ImportLimiter {
  /** Runs `work` when a turn is free (first come, first served), or throws TOO_MANY_REQUESTS when the queue is full. */
  run<T>(work: () => Promise<T>): Promise<T>;
}

export function createImportLimiter({ concurrency, queueMax }: ImportLimits): ImportLimiter {
  let running = 0;
  const waiting: (() => void)[] = [];

  const release = () => {
    const next = waiting.shift();
    // The finished import's turn passes straight to the next one, so a newcomer cannot jump the queue.
    if (next) next();
    else running--;
  };

  return {
    async run(work) {
      if (running < concurrency) running++;
      else if (waiting.length < queueMax) await new Promise<void>((resolve) => waiting.push(resolve));
      else {
        throw new AppError(
          "TOO_MANY_REQUESTS",
          "The server is busy with other imports: try again in a few seconds (the data sent was not imported)",
        );
      }
      try {
        return await work();
      } finally {
        release();
      }
    },
  };
}
