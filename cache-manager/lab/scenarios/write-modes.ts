import { latencyBars, LabOrigin, p50, round, sleep, timed, type LabRig } from "../rig";
import { BLANK, type ScenarioOutcome, type ScenarioParams } from "../types";

/** The same writes acknowledged after the origin (write-through) or before it (write-behind). */
export async function writeModes(rig: LabRig, p: ScenarioParams): Promise<ScenarioOutcome> {
  const origin = new LabOrigin(0, p.originLatencyMs);
  const queue = await rig.writeBehind(origin);
  const cache = await rig.cache(origin, { enqueueWrite: async (key, value) => void (await queue.enqueue(key, value)) });
  const samples: Record<"cache-only" | "write-through" | "write-behind", number[]> = { "cache-only": [], "write-through": [], "write-behind": [] };
  const acknowledged = new Map<string, number>();
  for (let i = 0; i < p.samples; i++) {
    for (const mode of ["cache-only", "write-through", "write-behind"] as const) {
      const key = `lab:${mode}:${i}`;
      const write = await timed(() => cache.set(key, { i, mode }, { mode, ttlMs: 60_000 }));
      samples[mode].push(write.ms);
      if (mode === "write-behind") acknowledged.set(key, performance.now());
    }
  }
  const deadline = Date.now() + 10_000;
  const behind = () => [...acknowledged.keys()].filter((key) => !origin.writes.has(key)).length;
  while (behind() > 0 && Date.now() < deadline) await sleep(20);
  const lags = [...acknowledged].flatMap(([key, at]) => (origin.writes.has(key) ? [origin.writes.get(key)!.at - at] : []));
  return {
    ...BLANK,
    title: "Write-through vs write-behind",
    summary: `Write-through answered in ${p50(samples["write-through"])} ms (it waits for the ${p.originLatencyMs} ms origin write); write-behind in ${p50(samples["write-behind"])} ms, the origin catching up ${p50(lags)} ms later.`,
    metrics: [
      { label: "write-through p50", value: p50(samples["write-through"]), unit: "ms" },
      { label: "write-behind p50", value: p50(samples["write-behind"]), unit: "ms" },
      { label: "cache-only p50", value: p50(samples["cache-only"]), unit: "ms" },
      { label: "write-behind origin lag p50", value: p50(lags), unit: "ms" },
      { label: "write-behind writes applied", value: lags.length, unit: `of ${acknowledged.size}` },
    ],
    bars: [...latencyBars(samples), { group: "origin lag p50", variant: "write-behind", value: p50(lags), unit: "ms" }],
    points: Object.entries(samples).flatMap(([series, s]) => s.map((value, i) => ({ x: i + 1, series, value: round(value) }))),
    xLabel: "write",
    yLabel: "ms",
    notes: ["Write-behind goes through the durable Redis Stream queue the service uses; its lag is the time from the acknowledgement to the origin write."],
  };
}
