import { AppError } from "./errors.ts";

// Failures that say "the database cannot serve right now" rather than "this request is wrong": the
// client should retry later (503), and nothing about them is the caller's fault or worth a stack trace.
const PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);
const DRIVER_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);
// PostgreSQL SQLSTATE: connection exceptions (08…), operator intervention such as a shutdown (57P…),
// insufficient resources (53…), and statement timeouts (57014).
const SQLSTATE = /^(08|57P|53)|^57014$/;
const DRIVER_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|PGlite is clos|the embedded database is closed/i;

export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && typeof current === "object" && depth < 5; depth++) {
    const candidate = current as {
      code?: unknown;
      message?: unknown;
      cause?: unknown;
      meta?: { driverAdapterError?: { cause?: { kind?: string; code?: string; severity?: string } } };
    };
    if (typeof candidate.code === "string" && PRISMA_CODES.has(candidate.code)) return true;
    const driver = candidate.meta?.driverAdapterError?.cause;
    if (driver?.kind && DRIVER_KINDS.has(driver.kind)) return true;
    if (driver?.code && SQLSTATE.test(driver.code)) return true;
    // FATAL ends the connection itself (refused at connect, shut down, …): never the request's fault.
    if (driver?.severity === "FATAL") return true;
    if (typeof candidate.message === "string" && DRIVER_MESSAGES.test(candidate.message)) return true;
    current = candidate.cause;
  }
  return false;
}

export const databaseUnavailable = () =>
  new AppError("SERVICE_UNAVAILABLE", "The database is unavailable right now; retry in a moment");

/** For `.catch()`: turns a database outage into a 503 AppError, and rethrows anything else untouched. */
export function rethrowIfUnavailable(error: unknown): never {
  throw isDatabaseUnavailable(error) ? databaseUnavailable() : error;
}
