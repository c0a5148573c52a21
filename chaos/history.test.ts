import { describe, expect, test } from "vitest";
import { checkHistory, describeViolation, type ChangeOp, type HistoryOp, type ReadOp } from "./history";

const change = (key: string, version: number, start: number, ack: number, instance: string | null = null, via = "key invalidation"): ChangeOp => ({
  type: "change",
  key,
  version,
  via,
  instance,
  start,
  ack,
});
const read = (key: string, instance: string, version: number | null, start: number, ack = start + 5): ReadOp => ({
  type: "read",
  key,
  instance,
  version,
  start,
  ack,
});
const bound = { otherInstanceBoundMs: 100 };

describe("checkHistory", () => {
  test("a clean history: reads after each acknowledged change see it or newer; concurrent reads see either side", () => {
    const history: HistoryOp[] = [
      read("k", "a", 1, 0),
      change("k", 2, 10, 50),
      read("k", "b", 1, 20, 60), // concurrent with the change: the old value is allowed
      read("k", "a", 2, 200),
      read("k", "b", 3, 210), // newer than anything acknowledged: an in-flight change, fine
      change("k", 3, 205, 260),
      read("k", "a", null, 300), // a miss or an error is never stale
      read("other", "a", 1, 300),
    ];
    const result = checkHistory(history, bound);
    expect(result).toMatchObject({ ops: 8, reads: 6, changes: 2, valuedReads: 5, violations: [] });
  });

  test("a read that began after an acknowledged change and returned an older version is a violation, naming the newest change missed", () => {
    const history: HistoryOp[] = [change("k", 2, 0, 10), change("k", 3, 20, 30), read("k", "b", 1, 500), read("k", "b", 3, 510)];
    const { violations } = checkHistory(history, bound);
    expect(violations).toHaveLength(1);
    expect(violations[0].read.start).toBe(500);
    expect(violations[0].change.version).toBe(3);
    expect(describeViolation(violations[0])).toBe(
      "read of k on b started at 500 ms and returned version 1, but key invalidation to version 3 was acknowledged at 30 ms (470 ms before the read began)",
    );
  });

  test.each([
    ["another instance within the bound", "b", 80, 0],
    ["another instance past the bound", "b", 120, 1],
    ["the instance that wrote, at once", "a", 20, 1],
  ])("the L1 allowance: a stale read on %s → %i violation(s)", (_label, instance, startAfterAck, expected) => {
    const history: HistoryOp[] = [change("k", 2, 0, 10, "a", "write-through"), read("k", instance, 1, 10 + startAfterAck)];
    expect(checkHistory(history, bound).violations).toHaveLength(expected);
  });

  test("an invalidation has no same instance: the bound applies on every instance", () => {
    const history: HistoryOp[] = [change("k", 2, 0, 10, null), read("k", "a", 1, 90), read("k", "a", 1, 111)];
    expect(checkHistory(history, bound).violations.map((v) => v.read.start)).toEqual([111]);
  });

  test("a change acknowledged before it started is a broken recording, not a pass", () => {
    expect(() => checkHistory([change("k", 2, 10, 5)], bound)).toThrow(/before it started/);
  });
});
