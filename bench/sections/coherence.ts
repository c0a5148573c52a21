/**
 * Section 6: coherence across three instances under a steady write rate. One instance writes
 * (`TieredCache.set`) keys that the two others hold in L1; each of them records when its
 * coherence bus delivered each key (propagation latency = delivery − start of the write). After
 * every acknowledged write plus the bound, both readers read the key: a value older than the
 * write is a stale read (must be 0).
 * Runs in a child process: `coherence.ts --child <redis url> <mode>`. The three instances share
 * one process and event loop (each with its own Redis connections), so the latency includes the
 * load the writes and checks put on that loop.
 */
import { fileURLToPath } from "node:url";
import { childMain, runChild } from "../lib/child.ts";
import { createCachetInstance } from "../lib/cachet.ts";
import type { Mode, SectionResult } from "../lib/report.ts";
import { latencyOf, median, ms, sleep, type Latency } from "../lib/stats.ts";

const BOUND_MS = 50;
const KEYS = 1_000;
const SETTINGS: Record<Mode, { writesPerSec: number; seconds: number; runs: number }> = {
  tiny: { writesPerSec: 1_000, seconds: 1, runs: 1 },
  quick: { writesPerSec: 1_000, seconds: 3, runs: 3 },
  full: { writesPerSec: 1_000, seconds: 10, runs: 5 },
};

interface CoherenceRun {
  writes: number;
  achievedWritesPerSec: number;
  latency: Latency;
  deliveries: number;
  checks: number;
  staleReads: number;
  writeLatency: Latency;
}

async function measure(url: string, mode: Mode): Promise<{ runs: CoherenceRun[] }> {
  const settings = SETTINGS[mode];
  const ns = `bench6:${process.pid}`;
  /** key → the write in flight or last done: its sequence number, start time, readers that heard it. */
  const lastWrite = new Map<string, { seq: number; startedAt: number; heard: number }>();
  let samples: number[] = [];
  const heard = (reader: number) => (keys: readonly string[]) => {
    const now = performance.now();
    for (const key of keys) {
      const write = lastWrite.get(key);
      if (!write || write.heard & reader) continue;
      write.heard |= reader;
      samples.push(now - write.startedAt);
    }
  };
  const writer = await createCachetInstance({ url, ns });
  const readers = [await createCachetInstance({ url, ns, onInvalidate: heard(1) }), await createCachetInstance({ url, ns, onInvalidate: heard(2) })];
  const keys = Array.from({ length: KEYS }, (_, i) => `coh:${i}`);
  for (const key of keys) await writer.cache.set(key, { seq: 0 });
  for (const reader of readers) for (const key of keys) await reader.cache.get(key);

  const runs: CoherenceRun[] = [];
  let seq = 0;
  for (let run = 0; run < settings.runs; run++) {
    samples = [];
    const writeTimes: number[] = [];
    let checks = 0;
    let staleReads = 0;
    const pending = new Set<Promise<void>>();
    const track = (promise: Promise<void>) => {
      pending.add(promise);
      void promise.finally(() => pending.delete(promise));
    };
    const check = async (key: string, written: number) => {
      await sleep(BOUND_MS);
      for (const reader of readers) {
        const read = await reader.cache.get(key);
        checks++;
        if ((read.value as { seq: number }).seq < written) staleReads++;
      }
    };
    const write = async (key: string, mySeq: number) => {
      const startedAt = performance.now();
      lastWrite.set(key, { seq: mySeq, startedAt, heard: 0 });
      await writer.cache.set(key, { seq: mySeq });
      writeTimes.push(performance.now() - startedAt);
      track(check(key, mySeq));
    };
    const total = settings.writesPerSec * settings.seconds;
    const started = performance.now();
    let issued = 0;
    while (issued < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * settings.writesPerSec));
      for (; issued < due; issued++) {
        seq++;
        track(write(keys[seq % KEYS], seq));
      }
      await sleep(1);
    }
    const elapsed = (performance.now() - started) / 1000;
    while (pending.size) await Promise.all([...pending]);
    await sleep(BOUND_MS);
    runs.push({
      writes: total,
      achievedWritesPerSec: total / elapsed,
      latency: latencyOf(samples),
      deliveries: samples.length,
      checks,
      staleReads,
      writeLatency: latencyOf(writeTimes),
    });
  }
  await Promise.all([writer, ...readers].map((instance) => instance.close()));
  return { runs };
}

export async function runCoherence(mode: Mode, redisUrl: string): Promise<Omit<SectionResult, "seconds">> {
  const settings = SETTINGS[mode];
  const { runs } = await runChild<{ runs: CoherenceRun[] }>(fileURLToPath(import.meta.url), ["--child", redisUrl, mode]);
  const p50 = median(runs.map((r) => r.latency.p50));
  const p99 = median(runs.map((r) => r.latency.p99));
  const max = Math.max(...runs.map((r) => r.latency.max));
  const staleReads = runs.reduce((sum, r) => sum + r.staleReads, 0);
  const checks = runs.reduce((sum, r) => sum + r.checks, 0);
  const deliveries = runs.reduce((sum, r) => sum + r.deliveries, 0);
  const writes = runs.reduce((sum, r) => sum + r.writes, 0);
  return {
    id: "coherence",
    title: "6. Coherence across 3 instances",
    tables: [
      {
        header: ["writes/s", "writes", "propagation p50", "p99", "max", "deliveries", `reads ${BOUND_MS} ms after ack`, "stale reads"],
        rows: [
          [
            Math.round(median(runs.map((r) => r.achievedWritesPerSec))).toLocaleString("en"),
            writes.toLocaleString("en"),
            ms(p50),
            ms(p99),
            ms(max),
            `${deliveries.toLocaleString("en")}/${(2 * writes).toLocaleString("en")}`,
            checks.toLocaleString("en"),
            String(staleReads),
          ],
        ],
      },
    ],
    notes: [
      `One writer and two readers (three TieredCache + CoherenceBus instances in one process, own Redis connections each), ${KEYS.toLocaleString("en")} keys held in the readers' L1, ${settings.writesPerSec.toLocaleString("en")} writes/s for ${settings.seconds} s, median of ${settings.runs} run(s) (max: over all runs).`,
      `Propagation = from the start of the write to the reader's bus delivering the key (the write itself — L2 SET + stream announcement — is included; write p50 ${ms(median(runs.map((r) => r.writeLatency.p50)))}, p99 ${ms(median(runs.map((r) => r.writeLatency.p99)))}). A stale read is a reader returning an older value ${BOUND_MS} ms after the write was acknowledged.`,
    ],
    data: { settings, boundMs: BOUND_MS, p50, p99, max, staleReads, checks, deliveries, writes, runs },
  };
}

if (process.argv[2] === "--child") void childMain(() => measure(process.argv[3], process.argv[4] as Mode));
