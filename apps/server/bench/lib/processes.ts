// Server processes for the benchmarks: the production build and the hand-written baseline, each on its own
// port against the bench database, with their resident memory read from /proc.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const serverDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface ServerProcess {
  name: string;
  url: string;
  child: ChildProcess;
  /** Resident set size in MB (Linux /proc), or NaN elsewhere. */
  rssMb(): number;
  stop(): Promise<void>;
}

export interface LaunchOptions {
  name: string;
  args: string[];
  port: number;
  databaseUrl: string;
  /** Extra environment (e.g. LOG_LEVEL); the bench defaults are production, warn, no auth rate limits. */
  env?: Record<string, string>;
  /** A path that answers 2xx once the process is ready. */
  readyPath: string;
}

export async function launch(options: LaunchOptions): Promise<ServerProcess> {
  const child = spawn(process.execPath, options.args, {
    cwd: serverDir,
    env: {
      ...process.env,
      NODE_ENV: "production",
      DATABASE_URL: options.databaseUrl,
      HOST: "127.0.0.1",
      PORT: String(options.port),
      LOG_LEVEL: "warn",
      // The login scenario signs in thousands of times from one IP.
      AUTH_RATE_LIMIT_PER_IP: "1000000",
      // The fan-out scenario opens BENCH_SUBSCRIBERS (1,000) streams of one user.
      SYNC_MAX_STREAMS_PER_USER: "100000",
      // As the Docker image runs the server (see the Dockerfile): glibc returns what other threads freed.
      MALLOC_ARENA_MAX: "2",
      ...options.env,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${options.port}`;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const server: ServerProcess = {
    name: options.name,
    url,
    child,
    rssMb: () => rssMbOf(child.pid),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${options.name} exited with ${child.exitCode} before it was ready`);
    const ok = await fetch(url + options.readyPath).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return server;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await server.stop();
  throw new Error(`${options.name} did not become ready`);
}

function rssMbOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb ? Number(kb) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
