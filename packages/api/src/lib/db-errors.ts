import { AppError } from "./errors.ts";

// Failures that say "the database cannot serve right now" rather than "this request is wrong": the
// client should retry later (503), and nothing about them is the caller's fault or worth a stack trace.
const PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024"]);
const DRIVER_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);
// PostgreSQL SQLSTATE: connection exceptions (08…), operator intervention such as a shutdown (57P…),
// insufficient resources (53…), and statement timeouts (57014).
const SQLSTATE = /^(08|57P|53)|^57014$/;
// pg's own words for a lost connection. "…not queryable" is what a transaction's next query gets once the
// restart has killed its connection: a plain Error with no code, which the adapter passes on untouched.
const DRIVER_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error and is not queryable|PGlite is clos|the embedded database is closed/i;

interface DriverFailure {
  kind?: string;
  code?: string;
  severity?: string;
}

export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && typeof current === "object" && depth < 5; depth++) {
    const candidate = current as {
      code?: unknown;
      message?: unknown;
      cause?: unknown;
      name?: unknown;
      meta?: { driverAdapterError?: { cause?: DriverFailure } };
    };
    if (typeof candidate.code === "string" && PRISMA_CODES.has(candidate.code)) return true;
    // Prisma wraps a failed query's DriverAdapterError in `meta`, but a failed COMMIT (the transaction
    // manager's own query) reaches us bare, its driver failure as `cause`.
    const driver =
      candidate.meta?.driverAdapterError?.cause ??
      (candidate.name === "DriverAdapterError" ? (candidate.cause as DriverFailure | undefined) : undefined);
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

/** Prisma's unique-constraint violation (P2002), e.g. two writers racing for one (groupId, number). */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === "P2002";
}

/** Prisma's "no row matched" of an update or delete by a unique where (P2025). */
export function isRecordNotFound(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === "P2025";
}
