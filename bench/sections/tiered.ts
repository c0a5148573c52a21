/**
 * Section 1: the in-process tiered cache against bentocache and cache-manager v7 (Keyv memory
 * store + @keyv/redis), same Redis, same values. Each subject runs in a fresh child process
 * (`tiered-worker.ts`); rounds rotate the order so load that comes and goes on a shared machine
 * hits every subject alike, and each figure is the median over rounds of per-round medians.
 */
import { fileURLToPath } from "node:url";
import { runChild } from "../lib/child.ts";
import { peerVersion } from "../lib/peers.ts";
import type { Mode, SectionResult } from "../lib/report.ts";
import { median, medianLatency, ms, rate, times } from "../lib/stats.ts";
import {
  OPERATIONS,
  SUBJECTS,
  type Operation,
  type OperationFigures,
  type TieredSubjectName,
  type WorkerResult,
  type WorkerSettings,
} from "./tiered-worker.ts";

const worker = fileURLToPath(new URL("./tiered-worker.ts", import.meta.url));

const SETTINGS: Record<Mode, WorkerSettings & { rounds: number }> = {
  tiny: { concurrency: 16, warmMs: 50, runMs: 100, runs: 2, rounds: 1, hotKeys: 100, warmKeys: 500 },
  quick: { concurrency: 16, warmMs: 200, runMs: 500, runs: 3, rounds: 1, hotKeys: 1_000, warmKeys: 10_000 },
  full: { concurrency: 16, warmMs: 500, runMs: 1_000, runs: 5, rounds: 3, hotKeys: 1_000, warmKeys: 20_000 },
};

const LABELS: Record<Operation, string> = { l1Hit: "L1 hit", l2Hit: "L2 hit", miss: "miss + load", set: "set" };

export interface TieredData {
  settings: WorkerSettings & { rounds: number };
  versions: Record<string, string>;
  subjects: Record<TieredSubjectName, Record<Operation, OperationFigures>>;
  /** Cachet ops/s over the peer's, per operation. */
  ratios: Record<"bentocache" | "cache-manager", Record<Operation, number>>;
  sourceCheck: Record<string, string>;
}

export async function runTiered(mode: Mode, redisUrl: string, log: (line: string) => void): Promise<Omit<SectionResult, "seconds">> {
  const settings = SETTINGS[mode];
  const samples = new Map<TieredSubjectName, WorkerResult[]>(SUBJECTS.map((s) => [s, []]));
  for (let round = 0; round < settings.rounds; round++) {
    for (let i = 0; i < SUBJECTS.length; i++) {
      const subject = SUBJECTS[(i + round) % SUBJECTS.length];
      log(`  round ${round + 1}/${settings.rounds}: ${subject}`);
      samples.get(subject)!.push(await runChild<WorkerResult>(worker, [subject, redisUrl, JSON.stringify(settings)]));
    }
  }
  const subjects = {} as TieredData["subjects"];
  for (const [name, results] of samples) {
    subjects[name] = {} as Record<Operation, OperationFigures>;
    for (const op of OPERATIONS) {
      const figures = results.map((r) => r.operations[op]);
      subjects[name][op] = {
        opsPerSec: median(figures.map((f) => f.opsPerSec)),
        cpuMicrosPerOp: median(figures.map((f) => f.cpuMicrosPerOp)),
        latency: medianLatency(figures.map((f) => f.latency)),
        runs: figures.flatMap((f) => f.runs),
      };
    }
  }
  const ratioTo = (peer: TieredSubjectName) =>
    Object.fromEntries(OPERATIONS.map((op) => [op, subjects.cachet[op].opsPerSec / subjects[peer][op].opsPerSec])) as Record<Operation, number>;
  const data: TieredData = {
    settings,
    versions: {
      bentocache: peerVersion("bentocache"),
      "cache-manager": peerVersion("cache-manager"),
      keyv: peerVersion("keyv"),
      "@keyv/redis": peerVersion("@keyv/redis"),
      cacheable: peerVersion("cacheable"),
    },
    subjects,
    ratios: { bentocache: ratioTo("bentocache"), "cache-manager": ratioTo("cache-manager") },
    sourceCheck: samples.get("cachet")![0].sourceCheck,
  };
  const rows = OPERATIONS.flatMap((op) =>
    SUBJECTS.map((name) => {
      const f = subjects[name][op];
      const ratio = name === "cachet" ? "" : times(subjects.cachet[op].opsPerSec / f.opsPerSec);
      return [name === "cachet" ? LABELS[op] : "", name, rate(f.opsPerSec), ms(f.latency.p50), ms(f.latency.p99), f.cpuMicrosPerOp.toFixed(1), ratio];
    }),
  );
  return {
    id: "tiered",
    title: "1. In-process tiered cache vs bentocache and cache-manager",
    tables: [{ header: ["operation", "subject", "ops/s", "p50", "p99", "client CPU µs/op", "Cachet ÷ subject (ops/s)"], rows }],
    notes: [
      `Same Redis, same ~250-byte JSON value, ${settings.concurrency} concurrent callers in one process; each subject in a fresh process per round; median of ${settings.runs} runs × ${settings.rounds} round(s) of ${settings.runMs} ms after ${settings.warmMs} ms warm-up.`,
      "Client CPU µs/op: CPU time of the benchmark process per operation (Redis's own work not included) — steadier than ops/s when other processes share the cores.",
      `Every subject is a writer with a large L1 plus a reader whose L1 holds one entry, so the reader's gets over ${settings.warmKeys.toLocaleString("en")} keys are L2 hits. Cachet and bentocache also announce writes to other instances (coherence stream / bus); cache-manager has no such mechanism.`,
      `Peers at their defaults: bentocache ${data.versions.bentocache} (memory driver + Redis driver + Redis bus; serializes L1 values), cache-manager ${data.versions["cache-manager"]} with Keyv (cacheable ${data.versions.cacheable} CacheableMemory in front of @keyv/redis ${data.versions["@keyv/redis"]}).`,
      `Miss + load: Cachet takes its cluster-wide fill lease in the L2 read (one script: value or lease), loads through a fast in-process origin, stores by a fenced compare-and-set and announces the write; bentocache's getOrSet takes an in-process lock; cache-manager's wrap has no stampede protection across instances.`,
    ],
    data,
  };
}
