import type { ServerResponse } from "node:http";
import type { FastifyInstance } from "fastify";

/**
 * Open server-sent-event streams (sync.subscribe). They never finish on their own, so a graceful close would
 * wait for them forever: on shutdown they are cut, and the clients reconnect (to another replica, or to this
 * one once it is back) with their last event id, losing nothing.
 */
export function trackEventStreams(app: FastifyInstance) {
  const open = new Set<ServerResponse>();
  app.addHook("onRequest", async (request, reply) => {
    if (!request.headers.accept?.includes("text/event-stream")) return;
    const response = reply.raw;
    open.add(response);
    response.once("close", () => open.delete(response));
  });
  return {
    get size() {
      return open.size;
    },
    closeAll() {
      for (const response of open) response.destroy();
      open.clear();
    },
  };
}
