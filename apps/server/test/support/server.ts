// A real server on a loopback port, over this test file's own database.
import { createTestDb, type TestDb } from "@prompt-booster/db/testing";
import type { Clock } from "@prompt-booster/api";

import { loadConfig, type Config } from "../../src/config.ts";
import { buildServer, type PromptBoosterServer } from "../../src/server.ts";

export const allowedOrigin = "http://app.test";

export interface TestServer {
  url: string;
  server: PromptBoosterServer;
  testDb: TestDb;
  config: Config;
  close(): Promise<void>;
}

export async function startTestServer(
  options: {
    env?: Record<string, string>;
    clock?: Clock;
    beforeStart?: (server: PromptBoosterServer) => void;
    /** Receives the server's log lines (with LOG_LEVEL set in `env`; silent otherwise). */
    logStream?: NodeJS.WritableStream;
  } = {},
): Promise<TestServer> {
  const testDb = await createTestDb();
  const config = loadConfig({
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    PORT: "0",
    LOG_LEVEL: "silent",
    CORS_ORIGINS: allowedOrigin,
    ...options.env,
  });
  const server = await buildServer(config, { db: testDb.db, clock: options.clock, logStream: options.logStream });
  options.beforeStart?.(server);
  const url = await server.start();
  return {
    url,
    server,
    testDb,
    config,
    async close() {
      await server.stop();
      await testDb.dispose();
    },
  };
}
