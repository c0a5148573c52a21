/** Section 2: L1 vs lru-cache — throughput, hit ratio per policy, memory per entry (`bench/l1.ts`). */
import { runL1Bench } from "../l1.ts";
import type { Mode, SectionResult } from "../lib/report.ts";

export function runL1Section(mode: Mode): Omit<SectionResult, "seconds"> {
  const result = runL1Bench(mode);
  const s = result.settings;
  const capacity = result.hitRatioCapacity;
  return {
    id: "l1",
    title: "2. L1 vs lru-cache",
    tables: [
      { title: "Throughput, millions of ops per CPU second", header: ["entries", "subject", "get", "set", "read-through"], rows: result.tables.throughput },
      {
        title: `Hit ratio, capacity ${capacity.toLocaleString("en")} entries`,
        header: ["trace", "L1 lru", "L1 lfu", "L1 w-tinylfu", "lru-cache"],
        rows: result.tables.hitRatio,
      },
      { title: "Memory per entry (heap + array buffers, key strings excluded)", header: ["entries", "subject", "bytes/entry"], rows: result.tables.memory },
    ],
    notes: [
      `Throughput: ${s.opsPerRun.toLocaleString("en")} ops per run, median of ${s.timedRuns} runs after ${s.warmupRuns} warm-up runs, each subject in a fresh process, median of ${s.rounds} round(s); measured in CPU time so other processes on the machine count less. get: uniform over resident keys; set: uniform over 2× capacity; read-through: zipf 0.9 over 2× capacity, set on a miss.`,
      `Hit ratio: ${s.traceLength.toLocaleString("en")} accesses per seeded trace over ${(10 * capacity).toLocaleString("en")} keys; zipf + scans inserts a scan of ${(2 * capacity).toLocaleString("en")} never-reused keys every ${(5 * capacity).toLocaleString("en")} accesses; the loop is 1.1× the capacity. W-TinyLFU − lru-cache on zipf 0.9 + scans: ${result.scanAdvantagePoints.toFixed(1)} points.`,
    ],
    data: result,
  };
}
