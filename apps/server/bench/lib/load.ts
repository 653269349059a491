// Load with autocannon: a warm-up, then a measured run; every answer must be 2xx.
import autocannon, { type RequestParams } from "autocannon";

import { cpuPerRequest, sampleCpu, type CpuSample } from "./cpu.ts";

export interface LoadTarget {
  url: string;
  method?: "GET" | "POST";
  /** Builds the n-th request (headers, path, body), e.g. to rotate through users. */
  request: (n: number) => RequestParams;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** CPU milliseconds per request of the server, PostgreSQL and the load generator, during the measured run. */
  cpu: CpuSample;
}

export interface LoadOptions {
  connections: number;
  durationS: number;
  warmupS: number;
  /** The process under load, for its CPU time. */
  serverPid: number | undefined;
}

export async function load(target: LoadTarget, options: LoadOptions): Promise<LoadResult> {
  const run = (duration: number) => {
    let n = 0;
    return autocannon({
      url: target.url,
      connections: options.connections,
      duration,
      timeout: 30,
      requests: [
        { method: target.method ?? "GET", setupRequest: (request) => ({ ...request, ...target.request(n++) }) },
      ],
    });
  };
  if (options.warmupS > 0) await run(options.warmupS); // JIT, connection pools, caches
  const before = sampleCpu(options.serverPid);
  const result = await run(options.durationS);
  const after = sampleCpu(options.serverPid);
  if (result.non2xx > 0 || result.errors > 0) {
    const codes = JSON.stringify(result.statusCodeStats ?? {});
    throw new Error(`${target.url}: ${result.non2xx} non-2xx (${codes}), ${result.errors} errors`);
  }
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    cpu: cpuPerRequest(before, after, result.requests.total),
  };
}

/** The median time of `samples` sequential calls (one request at a time: latency without queueing). */
export async function medianMs(samples: number, call: () => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    await call();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}
