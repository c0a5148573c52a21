import { APIError } from "encore.dev/api";
import { latencyBars, LabOrigin, p50, pct, round, timed, type LabRig } from "../rig";
import { BLANK, type LabPoint, type ScenarioOutcome, type ScenarioParams } from "../types";

/** Read-through: a miss goes to the origin; the next read is an L1 hit; with L1 dropped, an L2 hit. */
export async function cacheAside(rig: LabRig, p: ScenarioParams): Promise<ScenarioOutcome> {
  const origin = new LabOrigin(p.originLatencyMs);
  const cache = await rig.cache(origin);
  const samples: Record<"miss" | "L2 hit" | "L1 hit", number[]> = { miss: [], "L2 hit": [], "L1 hit": [] };
  const points: LabPoint[] = [];
  for (let i = 0; i < p.samples; i++) {
    const key = `lab:item:${i}`;
    const miss = await timed(() => cache.get(key));
    const l1 = await timed(() => cache.get(key));
    cache.applyInvalidation([key]); // drop this instance's L1 copy only: the next read finds L2
    const l2 = await timed(() => cache.get(key));
    if (miss.value.source !== "origin" || l1.value.source !== "l1" || l2.value.source !== "l2") {
      throw APIError.internal(`unexpected sources ${miss.value.source}/${l1.value.source}/${l2.value.source}`);
    }
    samples.miss.push(miss.ms);
    samples["L1 hit"].push(l1.ms);
    samples["L2 hit"].push(l2.ms);
    points.push(
      { x: i + 1, series: "miss", value: round(miss.ms) },
      { x: i + 1, series: "L2 hit", value: round(l2.ms) },
      { x: i + 1, series: "L1 hit", value: round(l1.ms) },
    );
  }
  return {
    ...BLANK,
    title: "Cache-aside: miss vs hit latency",
    summary: `A miss took ${p50(samples.miss)} ms (origin ${p.originLatencyMs} ms); an L2 hit ${p50(samples["L2 hit"])} ms; an L1 hit ${p50(samples["L1 hit"])} ms (p50).`,
    metrics: [
      { label: "miss p50", value: p50(samples.miss), unit: "ms" },
      { label: "L2 hit p50", value: p50(samples["L2 hit"]), unit: "ms" },
      { label: "L1 hit p50", value: p50(samples["L1 hit"]), unit: "ms" },
      { label: "origin calls", value: origin.loads, unit: "" },
      { label: "L1 speed-up over a miss", value: round(pct(samples.miss, 50) / Math.max(pct(samples["L1 hit"], 50), 0.001), 0), unit: "×" },
    ],
    bars: latencyBars(samples),
    points,
    xLabel: "request",
    yLabel: "ms",
    notes: [`${p.samples} keys, each read three times: a miss, an L1 hit, then an L2 hit after dropping the local copy.`],
  };
}
