// The messages between the main thread and the schema engine's worker (schema-engine-worker.ts). Engine calls
// go to the worker; the engine's database calls come back, because the real driver adapter (and the PGlite
// instance, the advisory lock, the pool) belong to the main thread.
import { DriverAdapterError, isDriverAdapterError } from "@prisma/driver-adapter-utils";
import type { ConnectionInfo, Provider, TransactionOptions } from "@prisma/driver-adapter-utils";

/** An error as it crosses the thread boundary: a driver error keeps its kind and fields, others their text. */
export type WireError =
  | { driver: DriverAdapterError["cause"] }
  | { name: string; message: string; stack?: string | undefined; fields: Record<string, unknown> };

export type WireOutcome = { ok: true; value: unknown } | { ok: false; error: WireError };

export interface WorkerSetup {
  schema: string;
  provider: Provider;
  adapterName: string;
}

/** Adapters and transactions live on the main thread; the worker names them by number. The factory is 0. */
export const factoryHandle = 0;

export interface AdapterOpened {
  handle: number;
  /** Read once at connect: the engine asks for it synchronously, which a message round trip cannot answer. */
  connectionInfo: { ok: true; value: ConnectionInfo } | { ok: false; error: WireError } | null;
}

export interface TransactionOpened {
  handle: number;
  options: TransactionOptions;
  savepoints: boolean;
}

export type ToWorker =
  | { type: "engine-call"; id: number; method: string; args: unknown[] }
  | ({ type: "adapter-answer"; id: number } & WireOutcome);

export type FromWorker =
  | { type: "ready" }
  | { type: "failed"; error: WireError }
  | ({ type: "engine-answer"; id: number } & WireOutcome)
  | { type: "adapter-call"; id: number; handle: number; method: string; args: unknown[] };

export function toWire(error: unknown): WireError {
  if (error instanceof Error && isDriverAdapterError(error)) return { driver: error.cause };
  if (!(error instanceof Error)) return { name: "Error", message: String(error), fields: {} };
  // Extra fields (an engine error's code, say) travel only if the structured clone can carry them.
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    try {
      fields[key] = structuredClone(value);
    } catch {
      // A function or a handle: not worth failing the error report over.
    }
  }
  return { name: error.name, message: error.message, stack: error.stack, fields };
}

export function fromWire(wire: WireError): Error {
  if ("driver" in wire) return new DriverAdapterError(wire.driver);
  const error = Object.assign(new Error(wire.message), wire.fields);
  error.name = wire.name;
  if (wire.stack) error.stack = wire.stack;
  return error;
}

export async function settle(work: () => Promise<unknown>): Promise<WireOutcome> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, error: toWire(error) };
  }
}

/** Posts an answer; a value the structured clone cannot carry becomes an error answer rather than a lost one. */
export function postAnswer<T>(post: (message: T) => void, answer: (outcome: WireOutcome) => T, outcome: WireOutcome) {
  try {
    post(answer(outcome));
  } catch (error) {
    post(answer({ ok: false, error: toWire(error) }));
  }
}
