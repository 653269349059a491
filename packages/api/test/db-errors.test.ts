// The outage classifier against the shapes a PostgreSQL restart really throws (captured from the server's
// log in db-restart.faults.test.ts): each escaped as a 500 before it was recognised.
import { describe, expect, it } from "vitest";

import { isDatabaseUnavailable } from "../src/lib/db-errors.ts";

/** @prisma/driver-adapter-utils' DriverAdapterError: an Error named so, holding the driver's payload as `cause`. */
class DriverAdapterError extends Error {
  override name = "DriverAdapterError";
  constructor(readonly payload: Record<string, unknown>) {
    super(typeof payload.message === "string" ? payload.message : String(payload.kind));
    this.cause = payload;
  }
}

/** What Prisma rethrows from a query on a connection pg already knows is dead: a plain Error, no code. */
function notQueryable() {
  return Object.assign(new Error("Client has encountered a connection error and is not queryable"), {
    clientVersion: "7.10.1",
  });
}

const adminShutdown = {
  originalCode: "57P01",
  originalMessage: "terminating connection due to administrator command",
  kind: "postgres",
  code: "57P01",
  severity: "FATAL",
  message: "terminating connection due to administrator command",
};

describe("isDatabaseUnavailable", () => {
  it("recognises a transaction's next query on a connection the restart killed", () => {
    expect(isDatabaseUnavailable(notQueryable())).toBe(true);
  });

  it("recognises a COMMIT the shutdown cut off (a bare DriverAdapterError, not wrapped by Prisma)", () => {
    expect(isDatabaseUnavailable(new DriverAdapterError(adminShutdown))).toBe(true);
    expect(isDatabaseUnavailable(new DriverAdapterError({ kind: "ConnectionClosed" }))).toBe(true);
  });

  it("leaves a bare DriverAdapterError about the request itself alone", () => {
    const unique = new DriverAdapterError({ kind: "UniqueConstraintViolation", constraint: { fields: ["id"] } });
    expect(isDatabaseUnavailable(unique)).toBe(false);
    const badText = new DriverAdapterError({ kind: "postgres", code: "22021", severity: "ERROR", message: "bad" });
    expect(isDatabaseUnavailable(badText)).toBe(false);
  });

  it("does not take pg's other client errors for an outage", () => {
    expect(isDatabaseUnavailable(new Error("Client was passed a null or undefined query"))).toBe(false);
  });
});
