/**
 * Closed-loop load inside one process: `concurrency` workers each await one operation after
 * another until the deadline. Throughput is operations per wall second; latency is sampled on
 * every `sampleEvery`-th operation (timing every sub-microsecond L1 hit would slow it noticeably).
 */
import { latencyOf, type Latency } from "./stats.ts";

export interface LoadOptions {
  concurrency: number;
  durationMs: number;
  sampleEvery?: number;
}

export interface LoadResult {
  opsPerSec: number;
  ops: number;
  latency: Latency;
  /** CPU microseconds this process spent per operation (user + system): less sensitive than
   *  wall time to other processes on a shared machine, but blind to Redis's own work. */
  cpuMicrosPerOp: number;
}

export async function closedLoop(op: (i: number) => Promise<unknown>, options: LoadOptions): Promise<LoadResult> {
  const sampleEvery = options.sampleEvery ?? 16;
  const samples: number[] = [];
  let next = 0;
  const cpuStarted = process.cpuUsage();
  const started = performance.now();
  const deadline = started + options.durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      // Check the clock once per small batch: the deadline need not be exact to the microsecond.
      for (let j = 0; j < 8; j++) {
        const i = next++;
        if (i % sampleEvery === 0) {
          const t0 = performance.now();
          await op(i);
          samples.push(performance.now() - t0);
        } else {
          await op(i);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  return { opsPerSec: next / elapsed, ops: next, latency: latencyOf(samples), cpuMicrosPerOp: (cpu.user + cpu.system) / next };
}
