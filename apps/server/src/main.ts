// The process entry: configuration, start-up (migrations, then listen), and a clean stop on SIGTERM/SIGINT.
import { ConfigError, loadConfig } from "./config.ts";
import { buildServer } from "./server.ts";

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }

  const server = await buildServer(config).catch((error: unknown) => {
    console.error(`start-up failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
  const address = await server.start();
  server.app.log.info({ address, database: server.db.provider }, `Prompt Booster API listening on ${address}`);

  const stop = async (signal: string) => {
    server.app.log.info({ signal }, "shutting down: finishing in-flight requests");
    const timer = setTimeout(() => {
      server.app.log.error("shutdown took too long; exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs);
    await server.stop();
    clearTimeout(timer);
    server.app.log.info("stopped");
    // The schema engine leaves idle timers behind; the work is done, so do not wait for them.
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
}

await main();
