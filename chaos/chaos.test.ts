/**
 * The quick versions of the five fault scenarios (`npm run chaos` runs the full ones). Each
 * scenario reports its checks; the test shows them and asserts every one passed.
 */
import { describe, expect, test } from "vitest";
import type { ScenarioResult } from "./harness";
import { cacheManagerKilled, l2Latency, postgresDown, redisRestartedEmpty, redisUnreachable } from "./scenarios";

const failed = (result: ScenarioResult) => result.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);

describe("fault scenarios (quick)", () => {
  test.each([
    ["1. Redis unreachable under load: L1 keeps answering, the breaker opens and recovers, nothing stale after", redisUnreachable],
    ["2. Redis restarted empty: every instance clears L1, a snapshot job restores the hot set", redisRestartedEmpty],
    ["3. PostgreSQL down: 503 and nothing lost; warming resumes", postgresDown],
    ["4. a cache-manager killed mid-invalidation and mid-write-behind: the others finish the work", cacheManagerKilled],
    ["5. 200 ms on L2: stale values within the soft-timeout bound", l2Latency],
  ] as const)(
    "%s",
    async (_name, scenario) => {
      const result = await scenario({ quick: true });
      console.log(`${result.id}. ${result.name}: ${result.figure} → ${result.verdict}`);
      expect(failed(result)).toEqual([]);
      expect(result.verdict).toBe("pass");
    },
    240_000,
  );
});
