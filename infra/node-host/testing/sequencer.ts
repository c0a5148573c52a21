/**
 * Vitest's file order for this suite: the longest files start first (longest processing time
 * first), so that the last files to finish are short ones and no worker waits while one long file
 * runs alone at the end.
 *
 * Vitest's own order uses the durations in its results cache (node_modules/.vite/vitest), which a
 * fresh clone (CI) does not have; without them it starts the largest files first, and the slowest
 * files here are small ones (bench/bench.test.ts, chaos/chaos.test.ts start whole benchmark runs
 * and fault scenarios). So a file's expected duration is the cache's when it has one, else the
 * figure in `EXPECTED_SECONDS`, else 0: the files not listed take a few seconds each.
 */
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Seconds each file took in a full `CI=true bash .ci/run` on 2 cores (files of 5 s or more),
 * rounded. Only their order matters: refresh them when a file becomes much slower or faster.
 */
export const EXPECTED_SECONDS: Readonly<Record<string, number>> = {
  "bench/bench.test.ts": 148,
  "chaos/chaos.test.ts": 99,
  "frontend/e2e/dashboard.test.ts": 71,
  "invalidation/invalidation.test.ts": 57,
  "chaos/consistency.test.ts": 48,
  "monitoring/cluster.test.ts": 38,
  "chaos/hostile.test.ts": 33,
  "infra/node-host/__tests__/host-cron.test.ts": 31,
  "chaos/fuzz.test.ts": 25,
  "infra/node-host/__tests__/host-pubsub.test.ts": 24,
  "infra/node-host/__tests__/startup.test.ts": 22,
  "cache-manager/faults.test.ts": 21,
  "cache-manager/distributed.test.ts": 19,
  "cache-manager/l2-modes.test.ts": 19,
  "clients/node/keyv.test.ts": 17,
  "monitoring/health.test.ts": 16,
  "clients/readme.test.ts": 16,
  "infra/deploy/deploy.test.ts": 16,
  "cache-manager/outage.test.ts": 14,
  "chaos/isolation.test.ts": 13,
  "infra/node-host/__tests__/conformance.test.ts": 12,
  "warming/endpoints.test.ts": 12,
  "clients/node/client.test.ts": 12,
  "chaos/authz.test.ts": 12,
  "chaos/http-edge.test.ts": 12,
  "cache-manager/lab/lab.test.ts": 11,
  "dashboard/openapi.test.ts": 11,
  "cache-manager/policy.test.ts": 11,
  "infra/node-host/__tests__/readme.test.ts": 10,
  "infra/node-host/__tests__/host-http.test.ts": 10,
  "infra/node-host/__tests__/tracing.test.ts": 10,
  "cache-manager/fencing.test.ts": 9,
  "infra/node-host/__tests__/sqldb.test.ts": 9,
  "infra/node-host/__tests__/pubsub.test.ts": 7,
  "bench/warming.test.ts": 7,
  "cache-manager/l3-keys.test.ts": 6,
  "infra/node-host/__tests__/workers.test.ts": 6,
  "cache-manager/cache.test.ts": 6,
  "cache-manager/endpoints.test.ts": 6,
  "cache-manager/auth.test.ts": 5,
  "cache-manager/core/l2/ring.test.ts": 5,
  "warming/distributed.test.ts": 5,
  "infra/node-host/__tests__/instances.test.ts": 5,
};

/**
 * `items` ordered longest expected first; ties keep their order. `expectedMs` answers for one
 * item, or undefined when nothing is known of it (counted as 0).
 */
export function longestFirst<T>(items: readonly T[], expectedMs: (item: T) => number | undefined): T[] {
  return items
    .map((item, index) => ({ item, index, ms: expectedMs(item) ?? 0 }))
    .sort((a, b) => b.ms - a.ms || a.index - b.index)
    .map(({ item }) => item);
}

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    // Vitest's order first (projects, then its own rules), so that files with no figure keep it.
    const base = await super.sort(files);
    const root = this.ctx.config.root;
    return longestFirst(base, (spec) => {
      const file = relative(root, spec.moduleId).split("\\").join("/");
      const cached = this.ctx.cache.getFileTestResults(`${spec.project.name}:${file}`)?.duration;
      return cached ?? (EXPECTED_SECONDS[file] === undefined ? undefined : EXPECTED_SECONDS[file] * 1000);
    });
  }
}
