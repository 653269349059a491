import type { ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";

import { sendError, transportError } from "./errors.ts";
import { isEventStream, type EventStreams } from "./event-streams.ts";

/**
 * Graceful shutdown for HTTP: once draining starts, every new request gets 503 with `Connection: close`
 * (so keep-alive clients move to another replica), while requests already in flight run to completion.
 * `drain()` resolves when none is left. A response that turns out to be an event stream stops counting
 * as in flight when it starts, and joins `streams`, which the caller cuts after the drain.
 */
export function trackInFlight(app: FastifyInstance, streams: EventStreams) {
  let inFlight = 0;
  let draining = false;
  let onIdle: (() => void) | undefined;
  const release = new WeakMap<ServerResponse, () => void>();

  app.addHook("onRequest", async (request, reply) => {
    if (draining) {
      void reply.header("connection", "close").header("retry-after", "5");
      return sendError(request, reply, transportError(503, "The server is shutting down; retry in a moment"));
    }
    inFlight++;
    let counted = true;
    const done = () => {
      if (!counted) return;
      counted = false;
      inFlight--;
      if (inFlight === 0) onIdle?.();
    };
    release.set(reply.raw, done);
    // "close" fires once whether the response finished or the client went away.
    reply.raw.once("close", done);
  });

  app.addHook("onSend", async (_request, reply, payload) => {
    // A request that finishes during the drain must not leave its connection open for keep-alive.
    if (draining) reply.header("connection", "close");
    if (isEventStream(reply, payload)) {
      // Joins the streams before it stops counting: the drain may end right here, and the streams are cut next.
      streams.add(reply.raw);
      release.get(reply.raw)?.();
    }
  });

  return {
    get draining() {
      return draining;
    },
    drain(): Promise<void> {
      draining = true;
      if (inFlight === 0) return Promise.resolve();
      return new Promise((resolve) => (onIdle = resolve));
    },
  };
}
