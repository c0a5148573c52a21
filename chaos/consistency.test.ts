/**
 * The quick history check (`npm run chaos` runs the long one, scenario 6): two host processes,
 * a versioned origin, concurrent readers and changers (write-through, key / pattern / tag
 * invalidations) under a fault schedule (slow origin, follow connections killed, Redis cut, a
 * process killed), every operation recorded and checked against the consistency model.
 */
import { expect, test } from "vitest";
import { Lab } from "./harness";
import { describeViolation } from "./history";
import { recordHistory } from "./history-run";

test("no read that began after an acknowledged change returns an older value (beyond the other-instance bound), under faults", async () => {
  const lab = new Lab();
  try {
    const run = await recordHistory(lab, {
      durationMs: 8_000,
      groups: 2,
      tagGroups: 1,
      keysPerGroup: 4,
      readers: 6,
      faults: ["slow-origin", "follow-cut", "redis-cut", "process-kill"],
      seed: 22,
      originDelayMs: 100,
      maxOutageMs: 1_000,
    });
    const { result } = run;
    console.log(
      `history: ${result.ops} ops (${result.reads} reads, ${result.valuedReads} with a value, ${result.changes} acknowledged changes), ${result.violations.length} violations; faults ${run.faultsRun.join(", ")}`,
    );
    // The history must exercise the model (floors low enough for a machine under heavy load).
    expect(result.changes).toBeGreaterThanOrEqual(10);
    expect(result.valuedReads).toBeGreaterThanOrEqual(50);
    expect(run.faultsRun).toHaveLength(4);
    expect(result.violations.slice(0, 5).map((v) => describeViolation(v, run.t0))).toEqual([]);
  } finally {
    await lab.close();
  }
}, 600_000);

test("with the L3 tier on across 3 processes: no read after an acknowledged change returns an older value, with L3 and Redis cut and L2's values lost", async () => {
  const lab = new Lab();
  try {
    const run = await recordHistory(lab, {
      durationMs: 8_000,
      groups: 2,
      tagGroups: 1,
      keysPerGroup: 4,
      readers: 6,
      faults: ["l3-cut", "l2-loss", "redis-cut", "l2-loss"],
      seed: 18,
      originDelayMs: 100,
      maxOutageMs: 1_000,
      l3: true,
    });
    const { result } = run;
    console.log(
      `history with L3: ${result.ops} ops (${result.reads} reads, ${result.valuedReads} with a value, ${result.changes} acknowledged changes), ${result.violations.length} violations; faults ${run.faultsRun.join(", ")}; L3 copied ${run.l3?.copied}, answered ${run.l3?.hits} reads`,
    );
    // L3 took part: values were copied into it, and reads after the L2 losses were served from it.
    expect(run.l3!.copied).toBeGreaterThan(0);
    expect(run.l3!.hits).toBeGreaterThan(0);
    expect(result.changes).toBeGreaterThanOrEqual(10);
    expect(result.valuedReads).toBeGreaterThanOrEqual(50);
    expect(run.faultsRun).toHaveLength(4);
    expect(result.violations.slice(0, 5).map((v) => describeViolation(v, run.t0))).toEqual([]);
  } finally {
    await lab.close();
  }
}, 600_000);
