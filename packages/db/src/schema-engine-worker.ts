// The schema engine's thread. Prisma's schema engine is 5 MB of WebAssembly whose compiled code and memory
// would stay in the process for good; in a worker they go when the main thread terminates it. Node cannot
// import a .wasm file as a module, so it is instantiated by hand with its JS bindings as imports.
import fs from "node:fs";
import { createRequire } from "node:module";
import { parentPort, workerData } from "node:worker_threads";

import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import * as bindings from "@prisma/schema-engine-wasm/schema_engine_bg";
import type { SchemaEngine } from "@prisma/schema-engine-wasm";

import { ForwardingAdapterFactory } from "./forwarding-adapter.ts";
import {
  fromWire,
  postAnswer,
  settle,
  toWire,
  type FromWorker,
  type ToWorker,
  type WorkerSetup,
} from "./schema-engine-wire.ts";

// Node has WebAssembly, but this project's type libraries (ES + Node, no DOM) do not describe it.
declare const WebAssembly: {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }>;
};

if (!parentPort) throw new Error("schema-engine-worker.ts runs only as a worker thread");
const port = parentPort;
const setup = workerData as WorkerSetup;
const send = (message: FromWorker) => port.postMessage(message);

let nextCallId = 1;
const adapterCalls = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
let engine: SchemaEngine | undefined;

const factory = new ForwardingAdapterFactory({
  provider: setup.provider,
  adapterName: setup.adapterName,
  call(handle, method, args) {
    const id = nextCallId++;
    return new Promise((resolve, reject) => {
      adapterCalls.set(id, { resolve, reject });
      send({ type: "adapter-call", id, handle, method, args });
    });
  },
});

port.on("message", (message: ToWorker) => {
  if (message.type === "adapter-answer") {
    const pending = adapterCalls.get(message.id);
    adapterCalls.delete(message.id);
    if (message.ok) pending?.resolve(message.value);
    else pending?.reject(fromWire(message.error));
    return;
  }
  void settle(async () => {
    if (!engine) throw new Error("the schema engine is not open");
    const method = (engine as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[message.method];
    if (typeof method !== "function") throw new Error(`the schema engine has no method ${message.method}`);
    return method.apply(engine, message.args);
  }).then((outcome) =>
    postAnswer(send, (answer): FromWorker => ({ type: "engine-answer", id: message.id, ...answer }), outcome),
  );
});

try {
  const require = createRequire(import.meta.url);
  const wasmFile = require.resolve("@prisma/schema-engine-wasm/schema_engine_bg").replace(/\.js$/, ".wasm");
  const { instance } = await WebAssembly.instantiate(fs.readFileSync(wasmFile), { "./schema_engine_bg.js": bindings });
  bindings.__wbg_set_wasm(instance.exports);
  (instance.exports as { __wbindgen_start?: () => void }).__wbindgen_start?.();
  // The engine expects adapters whose calls return Result objects: the bound factory provides them.
  engine = await bindings.SchemaEngine.new(
    { datamodels: [["schema.prisma", setup.schema]] },
    () => {},
    bindMigrationAwareSqlAdapterFactory(factory),
  );
  send({ type: "ready" });
} catch (error) {
  send({ type: "failed", error: toWire(error) });
}
