// CPU time per process from Linux's /proc, for "CPU per request": the server under test, PostgreSQL (every
// `postgres` process: the backends serving both servers' pools, and its background workers) and the load
// generator (this process). Requests per second say how fast; CPU per request says how much work each
// request costs, whatever the machine's other load. Elsewhere than Linux every figure is NaN.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of utime/stime in /proc/<pid>/stat (100 on every Linux we run on). */
const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU milliseconds a process has used, or NaN when it cannot be read. */
export function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const fields = statFields(pid);
  return fields ? fields.cpuMs : Number.NaN;
}

/**
 * User + system CPU milliseconds of every running process named `name` (e.g. "postgres"), and of their
 * children that have exited: a PostgreSQL backend that ends during a run (a pool closing an idle connection)
 * takes its CPU time out of the live processes' sum, and the postmaster, which reaps it, adds it to its own
 * cutime/cstime. Without those, such a run read a negative PostgreSQL time.
 */
export function cpuMsOfProcessesNamed(name: string): number {
  let total = 0;
  let found = false;
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return Number.NaN;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields?.command !== name) continue;
    total += fields.cpuMs + fields.reapedChildrenMs;
    found = true;
  }
  return found ? total : Number.NaN;
}

function statFields(pid: number): { command: string; cpuMs: number; reapedChildrenMs: number } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null; // gone meanwhile, or no /proc
  }
  // "pid (comm) state …": comm may hold spaces and parentheses, so split after its last ")".
  const close = stat.lastIndexOf(")");
  const command = stat.slice(stat.indexOf("(") + 1, close);
  const rest = stat.slice(close + 2).split(" ");
  // Fields 14 and 15 of the whole line (utime, stime) are 11 and 12 after "state" (field 3, rest[0]); 16 and 17
  // (cutime, cstime: children waited for) are 13 and 14.
  const ms = (ticks: number) => (ticks * 1_000) / TICKS_PER_SECOND;
  return {
    command,
    cpuMs: ms(Number(rest[11]) + Number(rest[12])),
    reapedChildrenMs: ms(Number(rest[13]) + Number(rest[14])),
  };
}

export interface CpuSample {
  serverMs: number;
  postgresMs: number;
  loadGeneratorMs: number;
}

/** A reading of the three processes' CPU time; `since` of a later reading gives what was used in between. */
export function sampleCpu(serverPid: number | undefined): CpuSample {
  const own = process.cpuUsage();
  return {
    serverMs: processCpuMs(serverPid),
    postgresMs: cpuMsOfProcessesNamed("postgres"),
    loadGeneratorMs: (own.user + own.system) / 1_000,
  };
}

/** CPU milliseconds per request of each process between two readings. */
export function cpuPerRequest(before: CpuSample, after: CpuSample, requests: number): CpuSample {
  const per = (key: keyof CpuSample) => (after[key] - before[key]) / requests;
  return { serverMs: per("serverMs"), postgresMs: per("postgresMs"), loadGeneratorMs: per("loadGeneratorMs") };
}
