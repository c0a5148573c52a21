import { latencyBars, LabOrigin, pct, round, sleep, timed, type LabRig } from "../rig";
import { BLANK, type ScenarioOutcome, type ScenarioParams } from "../types";

const KEY = "lab:hot";
/** The hot key's freshness; the burst starts after it has passed (no grace: a stale value is not served). */
const TTL_MS = 20;

/**
 * An expired hot key hit by a burst. Unprotected: each request is a cache client of its own (no
 * single-flight or lease shared with the others), as when every process caches on its own.
 * Protected: the same burst over two instances sharing L2 and the Redis lease.
 */
export async function stampede(rig: LabRig, p: ScenarioParams): Promise<ScenarioOutcome> {
  const burst = async (origin: LabOrigin, clients: number) => {
    const caches = await Promise.all(Array.from({ length: clients }, () => rig.cache(origin, { unshared: clients > 2 })));
    await caches[0].set(KEY, "old", { ttlMs: TTL_MS });
    await sleep(3 * TTL_MS);
    const runs = await Promise.all(Array.from({ length: p.concurrency }, (_, i) => timed(() => caches[i % clients].get(KEY))));
    await caches[0].delete([KEY]);
    return runs.map((r) => r.ms);
  };
  const naiveOrigin = new LabOrigin(p.originLatencyMs);
  const naiveMs = await burst(naiveOrigin, p.concurrency);
  const origin = new LabOrigin(p.originLatencyMs);
  const protectedMs = await burst(origin, 2);
  return {
    ...BLANK,
    title: "Stampede on an expired hot key",
    summary: `${p.concurrency} concurrent reads of an expired key: ${naiveOrigin.loads} origin calls without protection, ${origin.loads} with single-flight and the Redis lease (two instances).`,
    metrics: [
      { label: "requests", value: p.concurrency, unit: "" },
      { label: "origin calls, unprotected", value: naiveOrigin.loads, unit: "" },
      { label: "origin calls, protected", value: origin.loads, unit: "" },
      { label: "p99 unprotected", value: round(pct(naiveMs, 99)), unit: "ms" },
      { label: "p99 protected", value: round(pct(protectedMs, 99)), unit: "ms" },
    ],
    bars: [
      { group: "origin calls", variant: "unprotected", value: naiveOrigin.loads, unit: "" },
      { group: "origin calls", variant: "protected", value: origin.loads, unit: "" },
      ...latencyBars({ unprotected: naiveMs, protected: protectedMs }),
    ],
    notes: [
      `The origin takes ${p.originLatencyMs} ms per call. Unprotected: ${p.concurrency} cache clients that share only L2. Protected: one load per key per instance (single-flight), one per key across instances (SET NX PX lease); the others wait for its value in L2.`,
    ],
  };
}
