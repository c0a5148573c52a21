import { FaultInjector } from "../../core/l2/chaos";
import { DEGRADATION_LEVELS } from "../../core/resilience/degradation";
import { CacheUnavailableError } from "../../core/tiered";
import { cacheRuntime } from "../../runtime";
import { LabOrigin, sleep, type LabRig } from "../rig";
import { BLANK, type LabEvent, type LabPoint, type ScenarioOutcome, type ScenarioParams } from "../types";

const BREAKER_STATES = ["closed", "half-open", "open"] as const;

/** L2 fails for a while: the breaker opens, the level drops to l1-only, then both recover. */
export async function l2Outage(rig: LabRig, p: ScenarioParams): Promise<ScenarioOutcome> {
  const origin = new LabOrigin(Math.min(p.originLatencyMs, 20));
  const faulty = new FaultInjector(rig.l2);
  const openMs = 700;
  const cache = await rig.cache(origin, { l2: faulty, breakerThreshold: 3, breakerOpenMs: openMs, graceMs: 30_000 });
  const liveLevel = (await cacheRuntime()).cache.level;
  const tickMs = 50;
  const downAt = 400;
  const upAt = 1_600;
  const endAt = 3_000;
  const points: LabPoint[] = [];
  const events: LabEvent[] = [];
  let brokeAt: number | undefined;
  let openedAt: number | undefined;
  let recoveredAt: number | undefined;
  let served = 0;
  let failed = 0;
  let refused = 0;
  let lastLevel = cache.level;
  for (let i = 0; i < 20; i++) await cache.set(`lab:warm:${i}`, { i }, { ttlMs: 60_000 });
  const started = performance.now();
  try {
    for (let tick = 0; ; tick++) {
      const t = Math.round(performance.now() - started);
      if (t >= endAt) break;
      if (brokeAt === undefined && t >= downAt) {
        faulty.setFailing(true);
        brokeAt = t;
        events.push({ x: t, label: "L2 down" });
      }
      if (brokeAt !== undefined && recoveredAt === undefined && t >= upAt && faulty.failures > 0 && !events.some((e) => e.label === "L2 back")) {
        faulty.reset();
        events.push({ x: t, label: "L2 back" });
      }
      let ok = 0;
      let errors = 0;
      const key = `lab:warm:${tick % 20}`;
      cache.applyInvalidation([key]); // force this read past L1
      for (const read of [() => cache.get(key), () => cache.get(`lab:cold:${tick}`)]) {
        try {
          await read();
          ok++;
        } catch {
          errors++;
        }
      }
      try {
        await cache.set(`lab:write:${tick}`, { tick }, { ttlMs: 60_000 });
        ok++;
      } catch (error) {
        errors++;
        if (error instanceof CacheUnavailableError) refused++;
      }
      served += ok;
      failed += errors;
      const level = cache.level;
      const breaker = cache.breaker.state;
      if (openedAt === undefined && breaker === "open") openedAt = t;
      if (level !== lastLevel) events.push({ x: t, label: `level ${level}` });
      if (openedAt !== undefined && recoveredAt === undefined && level === "normal" && breaker === "closed" && events.some((e) => e.label === "L2 back"))
        recoveredAt = t;
      lastLevel = level;
      points.push(
        { x: t, series: "level", value: DEGRADATION_LEVELS.indexOf(level) },
        { x: t, series: "breaker", value: BREAKER_STATES.indexOf(breaker) },
        { x: t, series: "ok", value: ok },
        { x: t, series: "errors", value: errors },
      );
      await sleep(Math.max(0, (tick + 1) * tickMs - (performance.now() - started)));
    }
  } finally {
    faulty.reset(); // the rig's L2 is healthy again whatever happened
  }
  const backAt = events.find((e) => e.label === "L2 back")?.x;
  const liveAfter = (await cacheRuntime()).cache.level;
  return {
    ...BLANK,
    title: "L2 outage: breaker, degradation and recovery",
    summary:
      openedAt === undefined
        ? "The breaker never opened."
        : `The breaker opened ${openedAt - (brokeAt ?? 0)} ms after L2 went down; reads kept being served from L1 and the origin at level l1-only; ${
            recoveredAt !== undefined && backAt !== undefined
              ? `back to normal ${recoveredAt - backAt} ms after L2 returned`
              : "it had not recovered by the end of the run"
          }.`,
    metrics: [
      { label: "requests served", value: served, unit: "" },
      { label: "errors", value: failed, unit: "" },
      { label: "writes refused at l1-only", value: refused, unit: "" },
      { label: "time to open the breaker", value: openedAt !== undefined && brokeAt !== undefined ? openedAt - brokeAt : -1, unit: "ms" },
      { label: "time to recover", value: recoveredAt !== undefined && backAt !== undefined ? recoveredAt - backAt : -1, unit: "ms" },
    ],
    points,
    events,
    xLabel: "ms",
    yLabel: "per tick",
    notes: [
      `Levels: ${DEGRADATION_LEVELS.map((l, i) => `${i} ${l}`).join(", ")}. Breaker: ${BREAKER_STATES.map((s, i) => `${i} ${s}`).join(", ")}.`,
      `Failures were injected into the lab's own L2 (threshold 3, open ${openMs} ms); this instance's cache stayed at level "${liveLevel}" → "${liveAfter}".`,
    ],
  };
}
