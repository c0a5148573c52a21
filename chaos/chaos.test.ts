/**
 * The quick versions of the five fault scenarios (`npm run chaos` runs the full ones). Each
 * scenario reports its checks; the test shows them and asserts every one passed.
 *
 * Scenario 4 spends most of its time waiting: its survivor takes the killed instance's event over
 * only once the subscription's ack deadline (30 s) has passed. It runs beside the others, which
 * run one after another as before, so that their timing bounds are checked beside one scenario's
 * load at most.
 */
import { describe, expect, test } from "vitest";
import type { ScenarioResult } from "./harness";
import { cacheManagerKilled, l2Latency, postgresDown, redisRestartedEmpty, redisUnreachable } from "./scenarios";

const failed = (result: ScenarioResult) => result.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);

let previous: Promise<unknown> = Promise.resolve();
/** Runs `work` once everything queued here before it has finished. */
function afterThePrevious<T>(work: () => Promise<T>): Promise<T> {
  const result = previous.then(work);
  previous = result.catch(() => undefined);
  return result;
}

describe("fault scenarios (quick)", () => {
  test.concurrent.each([
    ["1. Redis unreachable under load: L1 keeps answering, the breaker opens and recovers, nothing stale after", redisUnreachable, "in turn"],
    ["2. Redis restarted empty: every instance clears L1, a snapshot job restores the hot set", redisRestartedEmpty, "in turn"],
    ["3. PostgreSQL down: 503 and nothing lost; warming resumes", postgresDown, "in turn"],
    ["4. a cache-manager killed mid-invalidation and mid-write-behind: the others finish the work", cacheManagerKilled, "alongside"],
    ["5. 200 ms on L2: stale values within the soft-timeout bound", l2Latency, "in turn"],
  ] as const)(
    "%s",
    async (_name, scenario, when) => {
      const run = () => scenario({ quick: true });
      const result = await (when === "alongside" ? run() : afterThePrevious(run));
      console.log(`${result.id}. ${result.name}: ${result.figure} → ${result.verdict}`);
      expect(failed(result)).toEqual([]);
      expect(result.verdict).toBe("pass");
    },
    // The scenarios in turn wait for those before them: up to four scenarios' time.
    480_000,
  );
});
