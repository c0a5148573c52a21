/**
 * Section 5: warming keys/s from a fast origin, on the store path a warmer drives: the origin's
 * `loadMany` for a batch of keys, then `TieredCache.setMany` of the loaded values (L2 write,
 * coherence announcement, L1 fill), with a few batches in flight. The warming engine itself
 * (`warming/core`) has its own benchmark, `bench/warming.ts` (`npm run bench:warming`).
 * Runs in a child process: `warming.ts --child <redis url> <mode>`.
 */
import { fileURLToPath } from "node:url";
import { childMain, runChild } from "../lib/child.ts";
import { createCachetInstance, FAST_ORIGIN_NAMESPACE } from "../lib/cachet.ts";
import type { Mode, SectionResult } from "../lib/report.ts";
import { median, ms, rate } from "../lib/stats.ts";

const SETTINGS: Record<Mode, { keys: number; batch: number; inFlight: number; runs: number }> = {
  tiny: { keys: 5_000, batch: 500, inFlight: 4, runs: 1 },
  quick: { keys: 50_000, batch: 500, inFlight: 4, runs: 3 },
  full: { keys: 200_000, batch: 500, inFlight: 4, runs: 5 },
};

interface WarmRun {
  keys: number;
  ms: number;
  keysPerSec: number;
  /** Sampled keys found in L2 afterwards. */
  verified: number;
}

async function measure(url: string, mode: Mode): Promise<{ runs: WarmRun[] }> {
  const settings = SETTINGS[mode];
  const instance = await createCachetInstance({ url, ns: `bench5:${process.pid}`, l1: { maxEntries: 100_000, maxBytes: 64 * 1024 * 1024 } });
  const origin = instance.origins.resolve(`${FAST_ORIGIN_NAMESPACE}0`);
  if (!origin?.loadMany) throw new Error("the fast origin has no loadMany");
  const loadMany = origin.loadMany.bind(origin);
  const runs: WarmRun[] = [];
  for (let run = 0; run < settings.runs + 1; run++) {
    const keys = Array.from({ length: settings.keys }, (_, i) => `${FAST_ORIGIN_NAMESPACE}r${run}:${i}`);
    let next = 0;
    const started = performance.now();
    const worker = async () => {
      while (next < keys.length) {
        const batch = keys.slice(next, (next += settings.batch));
        const loaded = await loadMany(batch);
        const entries = batch.flatMap((key) => {
          const result = loaded.get(key);
          return result?.found ? [{ key, value: result.value }] : [];
        });
        await instance.cache.setMany(entries);
      }
    };
    await Promise.all(Array.from({ length: settings.inFlight }, worker));
    const elapsed = performance.now() - started;
    const verified = await instance.l2.exists(keys.filter((_, i) => i % 100 === 0));
    if (run > 0) runs.push({ keys: keys.length, ms: elapsed, keysPerSec: keys.length / (elapsed / 1000), verified }); // run 0 warms up
  }
  await instance.close();
  return { runs };
}

export async function runWarming(mode: Mode, redisUrl: string): Promise<Omit<SectionResult, "seconds">> {
  const settings = SETTINGS[mode];
  const { runs } = await runChild<{ runs: WarmRun[] }>(fileURLToPath(import.meta.url), ["--child", redisUrl, mode]);
  const keysPerSec = median(runs.map((r) => r.keysPerSec));
  const sampled = Math.ceil(settings.keys / 100);
  return {
    id: "warming",
    title: "5. Warming (store path: origin loadMany + TieredCache.setMany)",
    tables: [
      {
        header: ["keys", "batch", "batches in flight", "time", "keys/s", "sampled keys in L2"],
        rows: [
          [
            settings.keys.toLocaleString("en"),
            String(settings.batch),
            String(settings.inFlight),
            ms(median(runs.map((r) => r.ms))),
            rate(keysPerSec),
            `${Math.min(...runs.map((r) => r.verified))}/${sampled}`,
          ],
        ],
      },
    ],
    notes: [
      `**Store path, not the warming service**: this measures what a warmer drives — the origin's \`loadMany\` per batch, then \`TieredCache.setMany\` (L2 write, coherence announcement, L1 fill) — from a fast in-process origin. Median of ${settings.runs} runs after one warm-up run. The warming engine itself (\`warming/core\`: jobs, listing, progress) is measured by \`npm run bench:warming\` (\`bench/warming.ts\`).`,
    ],
    data: { settings, keysPerSec, runs, measured: "store path (origin loadMany + cache.setMany)" },
  };
}

if (process.argv[2] === "--child") void childMain(() => measure(process.argv[3], process.argv[4] as Mode));
