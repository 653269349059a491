import type { ServerResponse } from "node:http";
import type { FastifyReply } from "fastify";

/**
 * Whether a reply is a server-sent-event stream (sync.subscribe), judged by what it sends. The request's
 * Accept header cannot tell: tRPC streams a subscription whatever the client accepts (EventSource's exact
 * type, curl's list with a wildcard, a wildcard alone, no header at all), and a client may ask for a
 * stream where none is served. Call from `onSend`, where tRPC's payload is still a fetch `Response`.
 */
export function isEventStream(reply: FastifyReply, payload: unknown): boolean {
  const type = payload instanceof Response ? payload.headers.get("content-type") : reply.getHeader("content-type");
  return typeof type === "string" && /^\s*text\/event-stream\s*(;|$)/i.test(type);
}

/**
 * Open event streams. They never finish on their own, so a graceful close would wait for them forever: on
 * shutdown they are cut, and the clients reconnect (to another replica, or to this one once it is back)
 * with their last event id, losing nothing. The drain (drain.ts) adds each stream as its response starts.
 */
export function createEventStreams() {
  const open = new Set<ServerResponse>();
  return {
    add(response: ServerResponse) {
      open.add(response);
      response.once("close", () => open.delete(response));
    },
    get size() {
      return open.size;
    },
    closeAll() {
      for (const response of open) response.destroy();
      open.clear();
    },
  };
}

export type EventStreams = ReturnType<typeof createEventStreams>;
