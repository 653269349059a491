import type { FastifyInstance, FastifyRequest } from "fastify";

/**
 * Graceful shutdown for HTTP: once draining starts, every new request gets 503 with `Connection: close`
 * (so keep-alive clients move to another replica), while requests already in flight run to completion.
 * `drain()` resolves when none is left. Long-lived event streams are not counted: they are closed instead.
 */
export function trackInFlight(app: FastifyInstance, isEventStream: (request: FastifyRequest) => boolean) {
  let inFlight = 0;
  let draining = false;
  let onIdle: (() => void) | undefined;

  app.addHook("onRequest", async (request, reply) => {
    if (draining) {
      return reply
        .code(503)
        .header("connection", "close")
        .header("retry-after", "5")
        .send({ code: "SERVICE_UNAVAILABLE", message: "The server is shutting down; retry in a moment" });
    }
    if (isEventStream(request)) return;
    inFlight++;
    // "close" fires once whether the response finished or the client went away.
    reply.raw.once("close", () => {
      inFlight--;
      if (inFlight === 0) onIdle?.();
    });
  });

  app.addHook("onSend", async (_request, reply) => {
    // A request that finishes during the drain must not leave its connection open for keep-alive.
    if (draining) reply.header("connection", "close");
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
