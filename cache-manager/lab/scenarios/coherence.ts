import { LabOrigin, sleep, type LabRig } from "../rig";
import { BLANK, type LabPoint, type ScenarioOutcome } from "../types";

const KEY = "lab:shared";
const WINDOW_MS = 800;
const EVERY_MS = 20;

/**
 * Two instances, A and B, both holding a key in L1 when A writes a new value; B's reads are
 * watched for `WINDOW_MS`. Plain local caches (the rig's caches without the coherence stream)
 * keep serving the old value; coherent L1s drop it as soon as B reads the announcement.
 */
export async function coherence(rig: LabRig): Promise<ScenarioOutcome> {
  const points: LabPoint[] = [];
  const watch = async (series: string, coherent: boolean) => {
    const origin = new LabOrigin(0);
    const [a, b] = [await rig.cache(origin, { coherent }), await rig.cache(origin, { coherent })];
    await a.set(KEY, 1, { ttlMs: 60_000 });
    await sleep(50); // a coherent B reads A's announcement of that first write before it caches the key
    await b.get(KEY);
    const held = (await b.get(KEY)).source;
    await a.set(KEY, 2, { ttlMs: 60_000 });
    let stale = 0;
    let reads = 0;
    let freshAfter: number | undefined;
    const started = performance.now();
    while (performance.now() - started < WINDOW_MS) {
      const x = Math.round(performance.now() - started);
      const isStale = (await b.get(KEY)).value !== 2;
      reads++;
      if (isStale) stale++;
      else freshAfter ??= x;
      points.push({ x, series, value: isStale ? 1 : 0 });
      await sleep(freshAfter === undefined && coherent ? 2 : EVERY_MS);
    }
    await a.delete([KEY]);
    return { stale, reads, freshAfter, held };
  };
  const plain = await watch("plain local caches", false);
  const coherent = await watch("coherent L1", true);
  return {
    ...BLANK,
    title: "Two instances: plain local caches vs coherent L1",
    summary: `After instance A wrote a new value, instance B served the old one in ${plain.stale} of ${plain.reads} reads with plain local caches, and in ${coherent.stale} of ${coherent.reads} with coherent L1 (fresh after ${coherent.freshAfter ?? "> " + WINDOW_MS} ms).`,
    metrics: [
      { label: "stale reads, plain local caches", value: plain.stale, unit: `of ${plain.reads}` },
      { label: "stale reads, coherent L1", value: coherent.stale, unit: `of ${coherent.reads}` },
      { label: "B fresh after (coherent)", value: coherent.freshAfter ?? -1, unit: "ms" },
    ],
    bars: [
      { group: "stale reads", variant: "plain local caches", value: plain.stale, unit: "" },
      { group: "stale reads", variant: "coherent L1", value: coherent.stale, unit: "" },
    ],
    points,
    xLabel: "ms after the write",
    yLabel: "B serves the old value (1) or the new one (0)",
    notes: [
      `B held the key in its L1 before the write (its second read came from ${coherent.held}). A plain local cache keeps the old value until its own TTL passes.`,
    ],
  };
}
