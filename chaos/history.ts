/**
 * A Jepsen-style checker for the cache's consistency model, as a pure function over a recorded
 * history (no IO, no clock): every operation carries the time it started and the time it was
 * acknowledged, on one clock (the test process's).
 *
 * The model checked (README, "Consistency model"): each key is a register whose values carry a
 * version that only grows (the test's origin numbers them). Once a change to version V is
 * acknowledged (a write answered, an invalidation `completed`), a read that *starts* afterwards
 * returns V or newer, or nothing (a miss or an error is never stale). The one allowance: a read on
 * an instance other than the one that made the change may return an older value for up to
 * `otherInstanceBoundMs` after the acknowledgement (the time another instance's L1 takes to hear
 * the coherence announcement). Invalidations are made by the invalidation service, so every
 * instance is an "other" instance for them. Reads concurrent with a change may see either side.
 *
 * @example
 * const result = checkHistory(history, { otherInstanceBoundMs: 1_000 });
 * if (result.violations.length) console.log(describeViolation(result.violations[0]));
 */

/** An acknowledged change: from `ack` on, the key's value is `version` or newer. */
export interface ChangeOp {
  type: "change";
  key: string;
  version: number;
  /** What made it (write-through, key / pattern / tag invalidation), for reports. */
  via: string;
  /** The instance that made it; `null` when no instance's reads are "the same instance" (invalidations). */
  instance: string | null;
  start: number;
  ack: number;
}

/** A read: `version` null for a miss or an error. */
export interface ReadOp {
  type: "read";
  key: string;
  instance: string;
  version: number | null;
  start: number;
  ack: number;
}

export type HistoryOp = ChangeOp | ReadOp;

export interface CheckOptions {
  /** How long after a change another instance may still serve the value it replaced. */
  otherInstanceBoundMs: number;
}

export interface Violation {
  read: ReadOp;
  /** The newest change the read had to observe, and did not. */
  change: ChangeOp;
}

export interface CheckResult {
  ops: number;
  reads: number;
  changes: number;
  /** Reads that returned a value (the ones that can be stale). */
  valuedReads: number;
  violations: Violation[];
}

/**
 * Finds every read that returned a version older than a change acknowledged before the read
 * began (past the other-instance bound where it applies). One violation per read: the newest
 * change it missed.
 */
export function checkHistory(history: readonly HistoryOp[], options: CheckOptions): CheckResult {
  const changesByKey = new Map<string, ChangeOp[]>();
  let reads = 0;
  let valuedReads = 0;
  for (const op of history) {
    if (op.type === "change") {
      if (!(op.ack >= op.start)) throw new Error(`change of ${op.key} to ${op.version} is acknowledged (${op.ack}) before it started (${op.start})`);
      const list = changesByKey.get(op.key) ?? changesByKey.set(op.key, []).get(op.key)!;
      list.push(op);
    } else {
      reads += 1;
      if (op.version !== null) valuedReads += 1;
    }
  }
  const violations: Violation[] = [];
  for (const op of history) {
    if (op.type !== "read" || op.version === null) continue;
    let missed: ChangeOp | null = null;
    for (const change of changesByKey.get(op.key) ?? []) {
      const sameInstance = change.instance !== null && change.instance === op.instance;
      const visibleFrom = change.ack + (sameInstance ? 0 : options.otherInstanceBoundMs);
      if (visibleFrom >= op.start || change.version <= op.version) continue;
      if (!missed || change.version > missed.version) missed = change;
    }
    if (missed) violations.push({ read: op, change: missed });
  }
  return { ops: history.length, reads, changes: history.length - reads, valuedReads, violations };
}

/** One line saying what the read saw and what it should have seen, times relative to `t0`. */
export function describeViolation({ read, change }: Violation, t0 = 0): string {
  const at = (t: number) => `${(t - t0).toFixed(0)} ms`;
  return (
    `read of ${read.key} on ${read.instance} started at ${at(read.start)} and returned version ${read.version}, ` +
    `but ${change.via}${change.instance ? ` on ${change.instance}` : ""} to version ${change.version} was acknowledged at ${at(change.ack)} ` +
    `(${(read.start - change.ack).toFixed(0)} ms before the read began)`
  );
}
