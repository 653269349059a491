// The real entry point (src/main.ts) in a child process, for tests of start-up, signals and crashes.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface ServerProcess {
  child: ChildProcess;
  output(): string;
  exit: Promise<number | null>;
  /** Resolves to the base URL once the server logs that it listens. */
  listening(): Promise<string>;
}

export function runServerProcess(env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: serverDir,
    env: { PATH: process.env.PATH ?? "", NODE_ENV: "test", PGLITE_DATA_DIR: "memory://", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exit,
    async listening() {
      const [, url] = await waitFor(
        () => output.match(/listening on (http:\/\/[\d.:]+)/),
        "the server to listen",
        exit,
      );
      return url!;
    },
  };
}

/** Polls `check` until it matches; fails early if the process exits first. */
export async function waitFor(
  check: () => RegExpMatchArray | null,
  what: string,
  exit?: Promise<number | null>,
  timeoutMs = 90_000,
): Promise<RegExpMatchArray> {
  let exited: number | null | undefined;
  void exit?.then((code) => (exited = code));
  const started = Date.now();
  for (;;) {
    const match = check();
    if (match) return match;
    if (exited !== undefined) throw new Error(`the process exited (${exited}) before ${what}`);
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
