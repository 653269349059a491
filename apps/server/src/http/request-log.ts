// One log line per request, written when the answer is sent: method, the path as the client sent it, the
// status the client really got, the time taken and the procedure(s) it called (tRPC and REST alike) —
// instead of Fastify's pair of lines ("incoming request", "request completed").
import { LogController, type FastifyReply, type FastifyRequest } from "fastify";

export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      url: request.url.split("?")[0],
      statusCode: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 10) / 10,
      procedure: procedureOf(request),
    };
    // An error here is the connection's (the client went away mid-answer), not the request's.
    if (error) reply.log.info({ ...line, err: error }, "request ended early");
    else reply.log.info(line, "request");
  }
}

/** The procedure a REST route serves (its route config), or those a tRPC URL names ("a.b,c.d"). */
export function procedureOf(request: FastifyRequest): string | undefined {
  return procedureNames(request)?.join(",").slice(0, 200);
}

/**
 * The same, one name per call, none cut off (metrics count each call of a batch). Undefined when the request
 * names none, or names them in a path that does not decode (it was refused as a bad URL).
 */
export function procedureNames(request: FastifyRequest): string[] | undefined {
  const config = request.routeOptions.config as { procedure?: string } | undefined;
  if (config?.procedure) return [config.procedure];
  const match = /^\/trpc\/([^?]+)/.exec(request.url);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]!).split(",");
  } catch {
    return undefined;
  }
}
