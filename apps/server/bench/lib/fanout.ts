// Many server-sent-event subscribers and the time one write takes to reach all of them. Each stream's
// events carry the revision as their id (`id: 42`), as sync.subscribe's tracked events do.
import http from "node:http";

export interface Subscribers {
  count: number;
  /** Resolves when every stream has seen an event with id ≥ revision; to the time (performance.now) the last one did. */
  allReached(revision: number, timeoutMs: number): Promise<number>;
  close(): void;
}

interface Stream {
  latest: number;
  request: http.ClientRequest;
}

export async function openSubscribers(
  url: string,
  headers: Record<string, string>,
  count: number,
  timeoutMs = 60_000,
): Promise<Subscribers> {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
  const streams: Stream[] = [];
  let waiter: { revision: number; resolve: (at: number) => void } | undefined;
  let reached = 0;
  const onEvent = (stream: Stream, revision: number) => {
    if (revision <= stream.latest) return;
    const before = stream.latest;
    stream.latest = revision;
    if (waiter && before < waiter.revision && revision >= waiter.revision && ++reached === streams.length) {
      waiter.resolve(performance.now());
    }
  };

  const open = () =>
    new Promise<void>((resolve, reject) => {
      const stream: Stream = { latest: -1, request: undefined as unknown as http.ClientRequest };
      stream.request = http.get(url, { agent, headers: { ...headers, accept: "text/event-stream" } }, (response) => {
        if (response.statusCode !== 200) {
          reject(new Error(`subscribe answered ${response.statusCode}`));
          response.resume();
          return;
        }
        response.setEncoding("utf8");
        let buffer = "";
        response.on("data", (chunk: string) => {
          buffer += chunk;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const id = /^id: ?(\d+)$/m.exec(event)?.[1];
            if (id !== undefined) {
              const first = stream.latest < 0;
              onEvent(stream, Number(id));
              if (first) resolve();
            }
          }
        });
      });
      stream.request.on("error", reject);
      streams.push(stream);
    });

  // In batches, so the listen backlog never overflows.
  const deadline = AbortSignal.timeout(timeoutMs);
  for (let opened = 0; opened < count; opened += 100) {
    await Promise.all(Array.from({ length: Math.min(100, count - opened) }, open));
    if (deadline.aborted) throw new Error(`opening ${count} subscribers took over ${timeoutMs} ms`);
  }

  return {
    count,
    allReached(revision, ms) {
      reached = streams.filter((s) => s.latest >= revision).length;
      if (reached === streams.length) return Promise.resolve(performance.now());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`${streams.length - reached} of ${streams.length} subscribers missed revision ${revision}`),
            ),
          ms,
        );
        waiter = {
          revision,
          resolve: (at) => {
            clearTimeout(timer);
            waiter = undefined;
            resolve(at);
          },
        };
      });
    },
    close() {
      for (const stream of streams) stream.request.destroy();
      agent.destroy();
    },
  };
}
