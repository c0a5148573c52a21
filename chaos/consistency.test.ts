/**
 * The quick history checks (`npm run chaos` runs the long one, scenario 6): host processes, a
 * versioned origin, concurrent readers and changers (write-through, key / pattern / tag
 * invalidations) under a fault schedule, every operation recorded and checked against the
 * consistency model. One history on two processes (slow origin, follow connections killed,
 * Redis cut, a process killed); one on three processes with the L3 tier on (L3 cut, L2's values
 * lost so reads come from L3, Redis cut).
 */
import { expect, test } from "vitest";
import { Lab } from "./harness";
import { describeViolation } from "./history";
import { recordHistory, type HistoryRun, type HistoryRunOptions } from "./history-run";

/** Records one history and checks it; `label` names it in the printed summary. */
async function checkedHistory(
  label: string,
  options: Omit<HistoryRunOptions, "durationMs" | "groups" | "tagGroups" | "keysPerGroup" | "readers" | "originDelayMs" | "maxOutageMs">,
): Promise<HistoryRun> {
  const lab = new Lab();
  try {
    const run = await recordHistory(lab, {
      durationMs: 8_000,
      groups: 2,
      tagGroups: 1,
      keysPerGroup: 4,
      readers: 6,
      originDelayMs: 100,
      maxOutageMs: 1_000,
      ...options,
    });
    const { result } = run;
    const l3 = run.l3 ? `; L3 copied ${run.l3.copied}, answered ${run.l3.hits} reads (${run.l3.probeHits}/${run.l3.probes} probes)` : "";
    console.log(
      `${label}: ${result.ops} ops (${result.reads} reads, ${result.valuedReads} with a value, ${result.changes} acknowledged changes), ${result.violations.length} violations; faults ${run.faultsRun.join(", ")}${l3}`,
    );
    // The history must exercise the model (floors low enough for a machine under heavy load).
    expect(result.changes).toBeGreaterThanOrEqual(10);
    expect(result.valuedReads).toBeGreaterThanOrEqual(50);
    expect(run.faultsRun).toHaveLength(options.faults.length);
    expect(result.violations.slice(0, 5).map((v) => describeViolation(v, run.t0))).toEqual([]);
    return run;
  } finally {
    await lab.close();
  }
}

test("no read that began after an acknowledged change returns an older value (beyond the other-instance bound), under faults", async () => {
  await checkedHistory("history", { faults: ["slow-origin", "follow-cut", "redis-cut", "process-kill"], seed: 22 });
}, 600_000);

test("the same with the L3 tier on across 3 processes, with L3 cut, L2's values lost and Redis cut", async () => {
  const run = await checkedHistory("history with L3", {
    faults: ["l3-cut", "l2-loss", "redis-cut", "l2-loss"],
    seed: 18,
    l3: true,
    log: (l) => console.log(new Date().toISOString(), l),
  });
  // L3 took part: values were copied into it, and after each L2 loss a key no L1 held was read
  // from it.
  expect(run.l3!.copied).toBeGreaterThan(0);
  expect(run.l3!.probeHits).toBe(run.l3!.probes);
  expect(run.l3!.hits).toBeGreaterThanOrEqual(run.l3!.probes);
}, 600_000);
