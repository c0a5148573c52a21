/**
 * Section 1: the in-process tiered cache against bentocache and cache-manager v7 (Keyv memory
 * store + @keyv/redis), same Redis, same values. Each subject lives in its own child process
 * (`tiered-worker.ts`, fresh for every round), built and warmed once; the section then alternates
 * short timed runs between the subjects, operation by operation, rotating who goes first. A ratio
 * is the median over runs of Cachet's ops/s over the peer's in the same cycle of runs (seconds
 * apart), so load that comes and goes on a shared machine falls on both sides of each ratio; the
 * spread of those per-cycle ratios is reported beside it.
 *
 * `BENCH_TIERED_OPS=miss,l2Hit` measures only those operations (profiling, quick checks).
 */
import { fileURLToPath } from "node:url";
import { startServedChild } from "../lib/child.ts";
import type { LoadResult } from "../lib/load.ts";
import { peerVersion } from "../lib/peers.ts";
import type { Mode, SectionResult } from "../lib/report.ts";
import { median, medianLatency, ms, rate, times } from "../lib/stats.ts";
import { OPERATIONS, SUBJECTS, type Operation, type OperationFigures, type TieredSubjectName, type WorkerSettings } from "./tiered-worker.ts";

const worker = fileURLToPath(new URL("./tiered-worker.ts", import.meta.url));

const SETTINGS: Record<Mode, WorkerSettings & { rounds: number }> = {
  tiny: { concurrency: 16, warmMs: 50, runMs: 100, runs: 2, rounds: 1, hotKeys: 100, warmKeys: 500 },
  quick: { concurrency: 16, warmMs: 200, runMs: 500, runs: 3, rounds: 1, hotKeys: 1_000, warmKeys: 10_000 },
  full: { concurrency: 16, warmMs: 500, runMs: 1_000, runs: 5, rounds: 3, hotKeys: 1_000, warmKeys: 20_000 },
};

const LABELS: Record<Operation, string> = { l1Hit: "L1 hit", l2Hit: "L2 hit", miss: "miss + load", set: "set" };

type Peer = "bentocache" | "cache-manager";
const PEERS: readonly Peer[] = ["bentocache", "cache-manager"];

export interface TieredData {
  settings: WorkerSettings & { rounds: number };
  versions: Record<string, string>;
  /** Operations measured (all four unless `BENCH_TIERED_OPS` chose some). */
  operations: Operation[];
  subjects: Record<TieredSubjectName, Partial<Record<Operation, OperationFigures>>>;
  /** Cachet ops/s over the peer's: the median of the per-cycle ratios. */
  ratios: Record<Peer, Partial<Record<Operation, number>>>;
  /** The lowest and highest per-cycle ratio. */
  ratioRange: Record<Peer, Partial<Record<Operation, [number, number]>>>;
  sourceCheck: Record<string, string>;
}

function chosenOperations(): Operation[] {
  const wanted = process.env.BENCH_TIERED_OPS?.split(",").map((op) => op.trim());
  return wanted ? OPERATIONS.filter((op) => wanted.includes(op)) : [...OPERATIONS];
}

export async function runTiered(mode: Mode, redisUrl: string, log: (line: string) => void): Promise<Omit<SectionResult, "seconds">> {
  const settings = SETTINGS[mode];
  const operations = chosenOperations();
  /** Subject → operation → its runs, in cycle order (the same index is the same cycle for every subject). */
  const samples = Object.fromEntries(SUBJECTS.map((s) => [s, Object.fromEntries(operations.map((op) => [op, [] as LoadResult[]]))])) as Record<
    TieredSubjectName,
    Record<Operation, LoadResult[]>
  >;
  let sourceCheck: Record<string, string> = {};
  for (let round = 0; round < settings.rounds; round++) {
    log(`  round ${round + 1}/${settings.rounds}: building ${SUBJECTS.join(", ")}`);
    const children = SUBJECTS.map((subject) => startServedChild(worker, [subject, redisUrl, JSON.stringify(settings)]));
    try {
      await Promise.all(children.map((child) => child.ready));
      for (const op of operations) {
        log(`  round ${round + 1}/${settings.rounds}: ${LABELS[op]}`);
        for (const child of children) await child.request({ op, ms: settings.warmMs });
        for (let run = 0; run < settings.runs; run++) {
          for (let i = 0; i < SUBJECTS.length; i++) {
            const j = (i + run + round) % SUBJECTS.length;
            samples[SUBJECTS[j]][op].push(await children[j].request<LoadResult>({ op, ms: settings.runMs }));
          }
        }
      }
      if (round === 0) sourceCheck = await children[0].request({ check: true });
    } finally {
      await Promise.all(children.map((child) => child.close()));
    }
  }
  const subjects = {} as TieredData["subjects"];
  for (const name of SUBJECTS) {
    subjects[name] = {};
    for (const op of operations) {
      const runs = samples[name][op];
      subjects[name][op] = {
        opsPerSec: median(runs.map((run) => run.opsPerSec)),
        cpuMicrosPerOp: median(runs.map((run) => run.cpuMicrosPerOp)),
        latency: medianLatency(runs.map((run) => run.latency)),
        runs: runs.map((run) => Math.round(run.opsPerSec)),
      };
    }
  }
  const ratios = { bentocache: {}, "cache-manager": {} } as TieredData["ratios"];
  const ratioRange = { bentocache: {}, "cache-manager": {} } as TieredData["ratioRange"];
  for (const peer of PEERS) {
    for (const op of operations) {
      const perCycle = samples.cachet[op].map((run, k) => run.opsPerSec / samples[peer][op][k].opsPerSec);
      ratios[peer][op] = median(perCycle);
      ratioRange[peer][op] = [Math.min(...perCycle), Math.max(...perCycle)];
    }
  }
  const data: TieredData = {
    settings,
    versions: {
      bentocache: peerVersion("bentocache"),
      "cache-manager": peerVersion("cache-manager"),
      keyv: peerVersion("keyv"),
      "@keyv/redis": peerVersion("@keyv/redis"),
      cacheable: peerVersion("cacheable"),
    },
    operations,
    subjects,
    ratios,
    ratioRange,
    sourceCheck,
  };
  const rows = operations.flatMap((op) =>
    SUBJECTS.map((name) => {
      const f = subjects[name][op]!;
      const ratio = name === "cachet" ? "" : `${times(ratios[name][op]!)} (${ratioRange[name][op]!.map((r) => r.toFixed(2)).join("–")})`;
      return [name === "cachet" ? LABELS[op] : "", name, rate(f.opsPerSec), ms(f.latency.p50), ms(f.latency.p99), f.cpuMicrosPerOp.toFixed(1), ratio];
    }),
  );
  const cycles = settings.runs * settings.rounds;
  return {
    id: "tiered",
    title: "1. In-process tiered cache vs bentocache and cache-manager",
    tables: [{ header: ["operation", "subject", "ops/s", "p50", "p99", "client CPU µs/op", "Cachet ÷ subject (ops/s): median (range)"], rows }],
    notes: [
      `Same Redis, same ~250-byte JSON value, ${settings.concurrency} concurrent callers in one process; each subject in its own process, fresh every round; ${settings.rounds} round(s) × ${settings.runs} cycles, each cycle one ${settings.runMs} ms run of every subject back to back (after a ${settings.warmMs} ms warm-up each per operation).`,
      `Ratio: the median over the ${cycles} cycles of Cachet's ops/s over the subject's in the same cycle, with the lowest and highest in brackets; ops/s, p50, p99 and CPU are medians over runs.`,
      "Client CPU µs/op: CPU time of the benchmark process per operation (Redis's own work not included) — steadier than ops/s when other processes share the cores.",
      `Every subject is a writer with a large L1 plus a reader whose L1 holds one entry, so the reader's gets over ${settings.warmKeys.toLocaleString("en")} keys are L2 hits. Cachet and bentocache also announce writes to other instances (coherence stream / bus); cache-manager has no such mechanism.`,
      `Peers at their defaults: bentocache ${data.versions.bentocache} (memory driver + Redis driver + Redis bus; serializes L1 values), cache-manager ${data.versions["cache-manager"]} with Keyv (cacheable ${data.versions.cacheable} CacheableMemory in front of @keyv/redis ${data.versions["@keyv/redis"]}).`,
      `Miss + load: Cachet takes its cluster-wide fill lease in the L2 read (one script: value or lease), loads through a fast in-process origin, stores by a fenced compare-and-set and announces the write; bentocache's getOrSet takes an in-process lock; cache-manager's wrap has no stampede protection across instances.`,
    ],
    data,
  };
}
