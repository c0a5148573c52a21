/**
 * Section 4: invalidation of many keys by pattern through `TieredCache.deleteMatching` (SCAN +
 * UNLINK a page at a time, inside Redis on a single server, then a pattern announcement on the
 * coherence stream), with three
 * instances holding some of the keys in L1. Measures keys/s of the deletion and the time until
 * every instance is coherent (the deletion finished and both other instances applied the flush).
 * Runs in a child process: `invalidation.ts --child <redis url> <mode>`.
 */
import { fileURLToPath } from "node:url";
import { encodeEnvelope } from "../../cache-manager/core/envelope.ts";
import { childMain, runChild } from "../lib/child.ts";
import { createCachetInstance, sampleValue } from "../lib/cachet.ts";
import type { Mode, SectionResult } from "../lib/report.ts";
import { median, ms, rate, sleep } from "../lib/stats.ts";

const SETTINGS: Record<Mode, { keys: number; otherKeys: number; runs: number; l1Keys: number }> = {
  tiny: { keys: 20_000, otherKeys: 2_000, runs: 1, l1Keys: 500 },
  quick: { keys: 200_000, otherKeys: 20_000, runs: 2, l1Keys: 2_000 },
  full: { keys: 1_000_000, otherKeys: 100_000, runs: 3, l1Keys: 10_000 },
};

interface InvalidationRun {
  deleted: number;
  scanned: number;
  deleteMs: number;
  keysPerSec: number;
  coherentMs: number;
  fillMs: number;
  /** L1 entries of the pattern still held by any instance after coherence (must be 0). */
  leftInL1: number;
  leftInL2: number;
}

async function measure(url: string, mode: Mode): Promise<{ runs: InvalidationRun[] }> {
  const settings = SETTINGS[mode];
  const ns = `bench4:${process.pid}`;
  // When each instance applied the pattern announcement (its own matching L1 entries dropped).
  const appliedAt: (number | undefined)[] = [undefined, undefined, undefined];
  const instances = await Promise.all([0, 1, 2].map((i) => createCachetInstance({ url, ns, onInvalidatePattern: () => (appliedAt[i] = performance.now()) })));
  const [writer] = instances;
  const runs: InvalidationRun[] = [];
  const envelope = encodeEnvelope({ v: sampleValue("inv"), f: Date.now() + 3_600_000 });
  for (let run = 0; run < settings.runs; run++) {
    const fillStarted = performance.now();
    const fill = async (prefix: string, count: number) => {
      for (let i = 0; i < count; i += 2_000) {
        const entries = Array.from({ length: Math.min(2_000, count - i) }, (_, j) => ({ key: `${prefix}${i + j}`, value: envelope, ttlMs: 3_600_000 }));
        await writer.l2.mset(entries);
      }
    };
    await fill("inv:", settings.keys);
    await fill("keep:", settings.otherKeys);
    for (const instance of instances) {
      for (let i = 0; i < settings.l1Keys; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => instance.cache.get(`inv:${i + j}`)));
    }
    const fillMs = performance.now() - fillStarted;
    appliedAt.fill(undefined);
    const started = performance.now();
    const result = await writer.cache.deleteMatching("inv:*");
    const finished = performance.now();
    // The writer clears its own L1 before it returns; wait for the two others to apply the pattern.
    const deadline = finished + 30_000;
    while ((appliedAt[1] === undefined || appliedAt[2] === undefined) && performance.now() < deadline) await sleep(0.2);
    if (appliedAt[1] === undefined || appliedAt[2] === undefined) throw new Error("the other two instances did not apply the pattern announcement within 30 s");
    const coherentAt = Math.max(finished, appliedAt[1], appliedAt[2]);
    let leftInL1 = 0;
    for (const instance of instances) for (let i = 0; i < settings.l1Keys; i++) if (instance.l1.get(`inv:${i}`) !== undefined) leftInL1++;
    const leftInL2 = await writer.l2.exists(Array.from({ length: 1_000 }, (_, i) => `inv:${i * Math.floor(settings.keys / 1_000)}`));
    const deleteMs = finished - started;
    runs.push({
      deleted: result.deleted,
      scanned: result.scanned,
      deleteMs,
      keysPerSec: result.deleted / (deleteMs / 1000),
      coherentMs: coherentAt - started,
      fillMs,
      leftInL1,
      leftInL2,
    });
    await writer.l2.deleteMatching("keep:*");
  }
  await Promise.all(instances.map((instance) => instance.close()));
  return { runs };
}

export async function runInvalidation(mode: Mode, redisUrl: string): Promise<Omit<SectionResult, "seconds">> {
  const settings = SETTINGS[mode];
  const { runs } = await runChild<{ runs: InvalidationRun[] }>(fileURLToPath(import.meta.url), ["--child", redisUrl, mode]);
  const keysPerSec = median(runs.map((r) => r.keysPerSec));
  const coherentMs = median(runs.map((r) => r.coherentMs));
  const deleteMs = median(runs.map((r) => r.deleteMs));
  return {
    id: "invalidation",
    title: "4. Invalidation by pattern",
    tables: [
      {
        header: ["keys matching", "keys in Redis", "deleted", "delete time", "keys/s", "all 3 instances coherent after", "left in L1 / L2"],
        rows: [
          [
            settings.keys.toLocaleString("en"),
            (settings.keys + settings.otherKeys).toLocaleString("en"),
            Math.round(median(runs.map((r) => r.deleted))).toLocaleString("en"),
            ms(deleteMs),
            rate(keysPerSec),
            ms(coherentMs),
            `${Math.max(...runs.map((r) => r.leftInL1))} / ${Math.max(...runs.map((r) => r.leftInL2))}`,
          ],
        ],
      },
    ],
    notes: [
      `\`TieredCache.deleteMatching("inv:*")\` on one of three in-process instances (each with its own Redis connections and coherence bus; each held ${settings.l1Keys.toLocaleString("en")} of the keys in L1), among ${settings.otherKeys.toLocaleString("en")} keys that do not match. Median of ${settings.runs} run(s).${mode === "full" ? "" : ` ${mode} mode: ${settings.keys.toLocaleString("en")} keys instead of 1,000,000.`}`,
      "Coherent = the deletion returned and the two other instances applied the pattern announcement (each drops its own matching L1 entries; a million keys never travel). Left in L1/L2 samples the pattern's keys afterwards (must be 0).",
      "This is the cache path the invalidation service's subscriber calls (`cache-manager/invalidation.ts`); the service adds an audit row, a Pub/Sub hop and the outcome row per request, not per key.",
    ],
    data: { settings, keysPerSec, coherentMs, deleteMs, runs },
  };
}

if (process.argv[2] === "--child") void childMain(() => measure(process.argv[3], process.argv[4] as Mode));
