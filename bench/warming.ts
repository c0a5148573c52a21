/**
 * The warming benchmark (issue 5, "What it must show"): what warming buys, measured in-process
 * against a real TieredCache on a real Redis, with the real warming engine (`warming/core`) on its
 * SQL repository (PGlite, in memory).
 *
 *   npm run bench:warming                full run (under ~4 minutes)
 *   npm run bench:warming -- --quick     short run (under ~60 s)
 *   --tiny                               a few seconds (the smoke test; the figures mean nothing)
 *   --out-dir=DIR                        where the results file goes (default bench/results)
 *
 * Three parts, each a with/without comparison measured in the same run:
 * 1. Throughput: an `origin` job over a fast in-process SQL origin (100,000 keys; quick 20,000),
 *    enqueued in the repository, claimed by `WarmingEngine.pump` and executed by the engine
 *    (origin listing in pages, `runBatches`, progress saved per batch) storing through
 *    `TieredCache.setMany`; against the bare store path (origin `loadMany` + `setMany`, no engine).
 * 2. Hit ratio of a seeded zipf replay with TTL expiry on a virtual clock, plain and with a `hot`
 *    job (refresh-ahead) that the engine's scheduler tick runs every simulated minute.
 * 3. Recovery after FLUSHALL + L1 clear (the gap path): requests and wall time until the hit ratio
 *    is back at 90% of what it was, without and with a `snapshot` restore (saved by a snapshot
 *    job just before the flush, restored by another right after).
 *
 * What is not exercised: the HTTP hop between the warming and cache-manager services (the engine's
 * `CachePort` is bound here to the same cache-manager code the internal endpoints call), and
 * PostgreSQL as a server (PGlite instead).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { cpus, loadavg, release, totalmem, type } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import type { Redis } from "ioredis";
import { connectRedis } from "../lib/redis.ts";
import type { Envelope } from "../cache-manager/core/envelope.ts";
import { L1Cache } from "../cache-manager/core/l1/cache.ts";
import { createSingleL2 } from "../cache-manager/core/l2/single.ts";
import type { L2Store } from "../cache-manager/core/l2/types.ts";
import { OriginRegistry } from "../cache-manager/core/origins/registry.ts";
import { RedisLease } from "../cache-manager/core/resilience/lease.ts";
import { systemClock, type Clock } from "../lib/clock.ts";
import type { TieredCache } from "../cache-manager/core/tiered.ts";
import { createTieredCache } from "../cache-manager/core/tiered/factory.ts";
import { loadFromOriginsFenced } from "../cache-manager/core/tiered/origin-fills.ts";
import { startRedisServer } from "../infra/node-host/embedded/redis.ts";
import { WarmingEngine, type CachePort, type WarmingEvent } from "../warming/core/engine.ts";
import { pgliteSql } from "../lib/sql.ts";
import { WarmingRepository } from "../warming/core/repository.ts";
import { runSpecOf, validateJob, type JobInput } from "../warming/core/spec.ts";
import { sampleValue } from "./lib/cachet.ts";
import { renderTable, type Table } from "./lib/report.ts";
import { median, ms, rate } from "./lib/stats.ts";
import { keyNames, zipfTrace } from "./lib/traces.ts";
import { mapBounded } from "../lib/concurrency.ts";

export type WarmingBenchMode = "tiny" | "quick" | "full";

const NS = "item:";
const LIST_QUERY = "SELECT id FROM items WHERE id > $1 ORDER BY id LIMIT $2";
const LOAD_QUERY = "SELECT value FROM items WHERE id = $1";
/** Monday 2026-01-05 08:00 UTC: the virtual clock's start (any fixed instant would do). */
const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const MINUTE = 60_000;
const benchDir = dirname(fileURLToPath(import.meta.url));

interface ThroughputSettings {
  keys: number;
  /** Timed rounds; each round runs every path once (interleaved), after one untimed warm-up round. */
  rounds: number;
  warmupKeys: number;
}

interface ReplaySettings {
  keys: number;
  alpha: number;
  seed: number;
  /** Simulated requests per second: the virtual clock advances 1/rate s per request. */
  rate: number;
  ttlSeconds: number;
  /** Requests issued together at one virtual instant (as concurrent readers would). */
  inFlight: number;
}

interface HotSettings extends ReplaySettings {
  minutes: number;
  /** Simulated minutes excluded from the hit ratio (the cache filling up the first time). */
  warmupMinutes: number;
  /** `topN` of each `hot` variant (100 = the job default, 1,000 = the maximum). */
  topNs: number[];
  refreshAheadSeconds: number;
}

interface FlushSettings extends ReplaySettings {
  /** Requests before the flush (the cache reaches its steady state). */
  warmupRequests: number;
  /** The last requests before the flush whose hit ratio is "the previous hit ratio". */
  baselineRequests: number;
  /** Hit ratio is judged per block of this many requests after the flush. */
  block: number;
  /** Give up after this many requests after the flush. */
  maxAfter: number;
  /** `topN` of each snapshot variant (1,000 = the job default; the hot-key TopK holds 2,000). */
  snapshotTopNs: number[];
}

interface Settings {
  throughput: ThroughputSettings;
  hot: HotSettings;
  flush: FlushSettings;
}

const SETTINGS: Record<WarmingBenchMode, Settings> = {
  tiny: {
    throughput: { keys: 2_000, rounds: 1, warmupKeys: 500 },
    hot: { keys: 5_000, alpha: 0.9, seed: 7, rate: 50, ttlSeconds: 120, inFlight: 16, minutes: 4, warmupMinutes: 1, topNs: [100], refreshAheadSeconds: 60 },
    flush: {
      keys: 5_000,
      alpha: 0.9,
      seed: 11,
      rate: 50,
      ttlSeconds: 300,
      inFlight: 16,
      warmupRequests: 3_000,
      baselineRequests: 1_000,
      block: 250,
      maxAfter: 2_000,
      snapshotTopNs: [1_000],
    },
  },
  quick: {
    throughput: { keys: 20_000, rounds: 1, warmupKeys: 5_000 },
    hot: {
      keys: 50_000,
      alpha: 0.9,
      seed: 7,
      rate: 50,
      ttlSeconds: 120,
      inFlight: 16,
      minutes: 10,
      warmupMinutes: 3,
      topNs: [100, 1_000],
      refreshAheadSeconds: 60,
    },
    flush: {
      keys: 50_000,
      alpha: 0.9,
      seed: 11,
      rate: 50,
      ttlSeconds: 300,
      inFlight: 16,
      warmupRequests: 25_000,
      baselineRequests: 5_000,
      block: 500,
      maxAfter: 15_000,
      snapshotTopNs: [1_000, 2_000],
    },
  },
  full: {
    throughput: { keys: 100_000, rounds: 3, warmupKeys: 20_000 },
    hot: {
      keys: 50_000,
      alpha: 0.9,
      seed: 7,
      rate: 100,
      ttlSeconds: 120,
      inFlight: 16,
      minutes: 20,
      warmupMinutes: 4,
      topNs: [100, 1_000],
      refreshAheadSeconds: 60,
    },
    flush: {
      keys: 50_000,
      alpha: 0.9,
      seed: 11,
      rate: 100,
      ttlSeconds: 300,
      inFlight: 16,
      warmupRequests: 90_000,
      baselineRequests: 15_000,
      block: 500,
      maxAfter: 40_000,
      snapshotTopNs: [1_000, 2_000],
    },
  },
};

// -------------------------------------------------------------------------------------------------
// Clocks

/**
 * Time that moves only when the replay says so (`set`), for every piece that reads a clock: L1,
 * the TieredCache (freshness, TTLs written to L2 envelopes, TopK decay) and the warming engine.
 * Timers (soft/hard origin timeouts, retry sleeps) stay real: they bound real work.
 */
class VirtualClock implements Clock {
  private time: number;
  constructor(start: number) {
    this.time = start;
  }
  now = (): number => this.time;
  set(epochMs: number): void {
    this.time = Math.max(this.time, epochMs);
  }
  setTimeout = systemClock.setTimeout;
  clearTimeout = systemClock.clearTimeout;
}

/** Wall-clock time for the throughput part. */
const wallClock = systemClock;

// -------------------------------------------------------------------------------------------------
// The cache under test: assembled as cache-manager/runtime.ts does, with a fast counting origin

interface OriginCounter {
  /** Single-key loads the origin answered (a `loadMany` of n keys counts n). */
  loads: number;
  listPages: number;
}

interface Subject {
  cache: TieredCache;
  l1: L1Cache<Envelope>;
  l2: L2Store;
  redis: Redis;
  origins: OriginRegistry;
  counter: OriginCounter;
  port: CachePort;
  close(): Promise<void>;
}

/**
 * A fast in-process SQL origin over ids 0..size-1 (a `sampleValue` each, about 250 bytes of JSON),
 * through the real SQL origin code (`createSqlOrigin`: keyset listing, `loadMany`).
 */
function fastItemsExecutor(size: number, counter: OriginCounter) {
  return async (sql: string, params: readonly unknown[]) => {
    if (sql === LIST_QUERY) {
      counter.listPages++;
      const after = params[0] === null || params[0] === undefined ? -1 : Number(params[0]);
      const limit = Number(params[1]);
      const rows: Array<{ id: number }> = [];
      for (let id = after + 1; id < size && rows.length < limit; id++) rows.push({ id });
      return rows;
    }
    counter.loads++;
    const id = Number(params[0]);
    return Number.isInteger(id) && id >= 0 && id < size ? [{ value: sampleValue(id) }] : [];
  };
}

async function openSubject(options: { url: string; ns: string; originSize: number; clock: Clock; ttlSeconds: number; graceMs: number }): Promise<Subject> {
  const { url, ns, clock } = options;
  const counter: OriginCounter = { loads: 0, listPages: 0 };
  const redis = connectRedis(url);
  const l2 = await createSingleL2({ client: redis, prefix: `${ns}:v:` });
  const origins = await OriginRegistry.open({
    redis,
    keyPrefix: `${ns}:origins`,
    configs: [{ namespace: NS, kind: "sql", query: LOAD_QUERY, listQuery: LIST_QUERY, listStart: -1 }],
    deps: { sql: () => fastItemsExecutor(options.originSize, counter) },
  });
  const l1 = new L1Cache<Envelope>({ maxEntries: 200_000, maxBytes: 128 * 1024 * 1024, policy: "w-tinylfu", now: () => clock.now() });
  const { cache, bus } = createTieredCache({
    l1,
    l2,
    origins,
    bus: { url, streamKey: `${ns}:coherence`, ignoreOwn: true },
    lease: new RedisLease({ redis, prefix: `${ns}:lease:` }),
    clock,
    defaultTtlMs: options.ttlSeconds * 1000,
    graceMs: options.graceMs,
  });
  await bus.start();
  return {
    cache,
    l1,
    l2,
    redis,
    origins,
    counter,
    port: inProcessCachePort(cache, origins),
    async close() {
      await bus.stop();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/**
 * The engine's view of cache-manager, bound in-process: the same calls the internal endpoints
 * make (`cache-manager/warming-support.ts` for origin-keys, origin-load, hot-keys-ttl, peek and l3-restore;
 * `internal.ts` store → `cache.setMany`), without the HTTP hop and its JSON.
 */
function inProcessCachePort(cache: TieredCache, origins: OriginRegistry): CachePort {
  const peekKey = async (key: string, withValue: boolean) => {
    const found = await cache.explorer().inspect(key);
    if (!found || found.negative) return { key, found: false, ttlMs: -2 };
    return withValue
      ? { key, found: true, ttlMs: found.ttlMs, value: found.value, ...(found.tags.length ? { tags: found.tags } : {}) }
      : { key, found: true, ttlMs: found.ttlMs };
  };
  return {
    async originKeys(namespace, cursor, limit) {
      const origin = origins.get(namespace);
      if (!origin?.list) throw new Error(`no listing origin for "${namespace}"`);
      return origin.list({ cursor, limit });
    },
    originLoad(keys) {
      return loadFromOriginsFenced(cache, origins, keys);
    },
    async store(entries) {
      await cache.setMany(entries.map((e) => ({ key: e.key, value: e.value, ttlMs: e.ttlSeconds && e.ttlSeconds * 1000, tags: e.tags, fence: e.fence })));
    },
    async hotKeys(limit) {
      const hot = cache.hot.top(limit);
      const states = await mapBounded(hot, 32, (entry) => peekKey(entry.key, false));
      return hot.map((entry, i) => ({ key: entry.key, count: entry.count, ttlMs: states[i].ttlMs }));
    },
    async peek(keys, withValues) {
      return mapBounded(keys, 32, (key) => peekKey(key, withValues));
    },
    restoreFromL3(pattern, cursor, limit) {
      return cache.restoreFromL3({ pattern, cursor, limit });
    },
  };
}

// -------------------------------------------------------------------------------------------------
// The warming side: repository on PGlite, an engine per scenario

interface Warming {
  repo: WarmingRepository;
  close(): Promise<void>;
}

async function openWarming(): Promise<Warming> {
  const db = new PGlite();
  await db.exec(readFileSync(join(benchDir, "../warming/migrations/1_create_jobs.up.sql"), "utf8"));
  return { repo: new WarmingRepository(pgliteSql(db)), close: () => db.close() };
}

interface EngineHandle {
  engine: WarmingEngine;
  problems: string[];
  warmedKeys(): number;
}

function engineFor(repo: WarmingRepository, port: CachePort, clock: Clock, workerId: string): EngineHandle {
  const problems: string[] = [];
  let warmed = 0;
  const engine = new WarmingEngine({
    repo,
    cache: port,
    clock,
    workerId,
    onEvent: (event: WarmingEvent) => {
      if (event.type === "keys") warmed += event.warmed;
      if (event.type === "problem") problems.push(event.message);
      if (event.type === "run-finished" && event.status !== "succeeded") problems.push(`run ${event.runId} ended ${event.status}`);
    },
  });
  return { engine, problems, warmedKeys: () => warmed };
}

/** Creates a job, enqueues one manual run of it, lets the engine claim and execute it; returns the run. */
async function runOnce(repo: WarmingRepository, handle: EngineHandle, input: JobInput, now: number) {
  const job = await repo.createJob(validateJob(input), now);
  const runId = await repo.enqueueRun({ jobId: job.id, jobName: job.name, trigger: "manual", priority: job.priority, spec: runSpecOf(job) }, now);
  await handle.engine.pump();
  await handle.engine.idle();
  const run = await repo.getRun(runId);
  if (!run || run.status !== "succeeded")
    throw new Error(`warming run ${runId} (${input.name}) ended ${run?.status ?? "missing"}: ${run?.error ?? handle.problems.join("; ")}`);
  return run;
}

let jobSerial = 0;
const jobName = (what: string) => `bench-${what}-${++jobSerial}`;

// -------------------------------------------------------------------------------------------------
// Part 1: throughput

interface ThroughputRow {
  path: string;
  batchSize: number;
  concurrency: number;
  keys: number;
  ms: number[];
  keysPerSec: number;
  medianMs: number;
  /** Keys found in L2 afterwards, of every 100th key. */
  verified: string;
  batches?: number;
}

async function measureThroughput(url: string, settings: ThroughputSettings, warming: Warming, log: (line: string) => void) {
  const configs = [
    { path: "engine: origin job (job defaults)", engine: true, batchSize: 100, concurrency: 4 },
    { path: "engine: origin job", engine: true, batchSize: 500, concurrency: 4 },
    { path: "bare store path (no engine)", engine: false, batchSize: 500, concurrency: 4 },
  ];
  const subject = await openSubject({ url, ns: "wbench1", originSize: settings.keys, clock: wallClock, ttlSeconds: 3600, graceMs: 60_000 });
  const handle = engineFor(warming.repo, subject.port, wallClock, "bench-throughput");
  const origin = subject.origins.get(NS)!;
  const samples = new Map<string, { ms: number[]; verified: number[]; batches: number[] }>(configs.map((c) => [c.path, { ms: [], verified: [], batches: [] }]));
  const sampleKeys = Array.from({ length: Math.ceil(settings.keys / 100) }, (_, i) => `${NS}${i * 100}`);

  const bare = async (keys: number, batchSize: number, concurrency: number) => {
    let next = 0;
    const worker = async () => {
      while (next < keys) {
        const start = next;
        next = Math.min(keys, next + batchSize);
        const batch = Array.from({ length: next - start }, (_, i) => `${NS}${start + i}`);
        const loaded = await origin.loadMany!(batch);
        await subject.cache.setMany(
          batch.flatMap((key) => {
            const result = loaded.get(key);
            return result?.found ? [{ key, value: result.value, ttlMs: 3600_000 }] : [];
          }),
        );
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };

  for (let round = 0; round <= settings.rounds; round++) {
    const timed = round > 0;
    const keys = timed ? settings.keys : settings.warmupKeys;
    for (const config of configs) {
      await subject.redis.flushall();
      subject.cache.applyGap();
      const started = performance.now();
      let batches: number | undefined;
      if (config.engine) {
        const run = await runOnce(
          warming.repo,
          handle,
          {
            name: jobName("origin"),
            source: { type: "origin", limit: keys },
            namespace: NS,
            batchSize: config.batchSize,
            concurrency: config.concurrency,
            ttlSeconds: 3600,
          },
          Date.now(),
        );
        if (run.warmed !== keys) throw new Error(`the origin job warmed ${run.warmed} of ${keys} keys`);
        batches = run.batches;
      } else {
        await bare(keys, config.batchSize, config.concurrency);
      }
      const elapsed = performance.now() - started;
      if (!timed) continue;
      const s = samples.get(config.path)!;
      s.ms.push(elapsed);
      s.verified.push(await subject.l2.exists(sampleKeys));
      if (batches !== undefined) s.batches.push(batches);
      log(`  throughput round ${round}: ${config.path} ${config.batchSize}×${config.concurrency}: ${ms(elapsed)} (${rate(keys / (elapsed / 1000))} keys/s)`);
    }
  }
  await subject.close();
  const rows: ThroughputRow[] = configs.map((c) => {
    const s = samples.get(c.path)!;
    const medianMs = median(s.ms);
    return {
      path: c.path,
      batchSize: c.batchSize,
      concurrency: c.concurrency,
      keys: settings.keys,
      ms: s.ms,
      medianMs,
      keysPerSec: settings.keys / (medianMs / 1000),
      verified: `${Math.min(...s.verified)}/${sampleKeys.length}`,
      ...(s.batches.length ? { batches: s.batches[0] } : {}),
    };
  });
  return { rows, problems: handle.problems };
}

// -------------------------------------------------------------------------------------------------
// The replay

interface ReplayState {
  subject: Subject;
  clock: VirtualClock;
  names: string[];
  /** 1 = hit (served by L1 or L2, fresh), 0 = miss (loaded from the origin), per trace index. */
  hits: Uint8Array;
  errors: number;
}

/**
 * Replays `trace[from..to)`: request i happens at virtual time `start + i / rate`, `inFlight`
 * requests at a time. `beforeChunk(now)` runs between chunks (scheduler ticks); `afterChunk(end)`
 * may stop the replay by returning true.
 */
async function replay(
  state: ReplayState,
  trace: Int32Array,
  from: number,
  to: number,
  s: ReplaySettings,
  hooks: { beforeChunk?: (now: number) => Promise<void>; afterChunk?: (end: number) => boolean; alignTo?: number } = {},
): Promise<number> {
  const { subject, clock, names, hits } = state;
  const stepMs = 1000 / s.rate;
  let i = from;
  while (i < to) {
    clock.set(T0 + Math.floor(i * stepMs));
    if (hooks.beforeChunk) await hooks.beforeChunk(clock.now());
    // With `alignTo`, a chunk never straddles a multiple of it (counted from `from`).
    const boundary = hooks.alignTo ? from + (Math.floor((i - from) / hooks.alignTo) + 1) * hooks.alignTo : Infinity;
    const end = Math.min(to, i + s.inFlight, boundary);
    const reads: Promise<void>[] = [];
    for (let j = i; j < end; j++) {
      const index = j;
      reads.push(
        subject.cache.get(names[trace[index]]).then(
          (read) => void (hits[index] = read.source === "origin" || read.stale ? 0 : 1),
          () => void state.errors++,
        ),
      );
    }
    await Promise.all(reads);
    i = end;
    if (hooks.afterChunk?.(i)) break;
  }
  return i;
}

function ratio(hits: Uint8Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += hits[i];
  return to > from ? sum / (to - from) : NaN;
}

async function openReplay(url: string, ns: string, s: ReplaySettings, trace: Int32Array, names: string[]): Promise<ReplayState> {
  const clock = new VirtualClock(T0);
  // No grace period: an expired entry is a miss (with the default 60 s grace it would be served
  // stale while it reloads, and expiry would not show in the hit ratio).
  const subject = await openSubject({ url, ns, originSize: s.keys, clock, ttlSeconds: s.ttlSeconds, graceMs: 0 });
  return { subject, clock, names, hits: new Uint8Array(trace.length), errors: 0 };
}

// -------------------------------------------------------------------------------------------------
// Part 2: hit ratio with and without `hot` warming

interface HotRow {
  variant: string;
  topN: number | null;
  requests: number;
  measuredRequests: number;
  hitRatio: number;
  hitRatioAll: number;
  readerOriginLoads: number;
  warmingOriginLoads: number;
  totalOriginLoads: number;
  warmingRuns: number;
  warmedKeys: number;
  wallMs: number;
  errors: number;
}

async function measureHot(url: string, s: HotSettings, warming: Warming, log: (line: string) => void) {
  const length = s.minutes * 60 * s.rate;
  const trace = zipfTrace({ keys: s.keys, alpha: s.alpha, length, seed: s.seed });
  const names = keyNames(trace, NS);
  const measuredFrom = s.warmupMinutes * 60 * s.rate;
  const rows: HotRow[] = [];
  const problems: string[] = [];
  for (const topN of [null, ...s.topNs]) {
    const variant = topN === null ? "plain (no warming)" : `hot refresh-ahead, topN ${topN}`;
    await flushRedis(url);
    const state = await openReplay(url, `wbench2`, s, trace, names);
    const { subject, clock } = state;
    let warmingLoads = 0;
    let runs = 0;
    let handle: EngineHandle | undefined;
    let beforeChunk: ((now: number) => Promise<void>) | undefined;
    if (topN !== null) {
      handle = engineFor(warming.repo, subject.port, clock, `bench-hot-${topN}`);
      // A scheduled job, as it would be configured: every minute, refresh-ahead only (days: 0,
      // no time-of-day history in a replay this short), the TTL the cache uses.
      await warming.repo.createJob(
        validateJob({
          name: jobName(`hot-${topN}`),
          schedule: "* * * * *",
          source: { type: "hot", topN, refreshAheadSeconds: s.refreshAheadSeconds, days: 0 },
          namespace: NS,
          ttlSeconds: s.ttlSeconds,
        }),
        clock.now(),
      );
      let nextTick = T0 + MINUTE;
      const engine = handle.engine;
      beforeChunk = async (now) => {
        if (now < nextTick) return;
        nextTick = Math.floor(now / MINUTE) * MINUTE + MINUTE;
        const before = subject.counter.loads;
        // The scheduler's minute tick: enqueues the due run, records hot keys, pumps; then wait for it.
        const tick = await engine.tick(now);
        runs += tick.enqueued.length;
        await engine.idle();
        warmingLoads += subject.counter.loads - before;
      };
    }
    const started = performance.now();
    await replay(state, trace, 0, length, s, { beforeChunk });
    const wallMs = performance.now() - started;
    const total = subject.counter.loads;
    rows.push({
      variant,
      topN,
      requests: length,
      measuredRequests: length - measuredFrom,
      hitRatio: ratio(state.hits, measuredFrom, length),
      hitRatioAll: ratio(state.hits, 0, length),
      readerOriginLoads: total - warmingLoads,
      warmingOriginLoads: warmingLoads,
      totalOriginLoads: total,
      warmingRuns: runs,
      warmedKeys: handle?.warmedKeys() ?? 0,
      wallMs,
      errors: state.errors,
    });
    if (handle) problems.push(...handle.problems);
    const row = rows[rows.length - 1];
    log(`  hot: ${variant}: hit ratio ${pct(row.hitRatio)}, origin loads ${row.readerOriginLoads} + ${row.warmingOriginLoads} warming, ${ms(wallMs)}`);
    await subject.close();
  }
  return { rows, problems, length, measuredFrom };
}

// -------------------------------------------------------------------------------------------------
// Part 3: recovery after a flush, with and without a snapshot restore

interface FlushBlock {
  /** Requests after the flush at the end of the block. */
  after: number;
  hitRatio: number;
  /** Wall time since FLUSHALL (restore included). */
  wallMs: number;
  /** Reader origin loads since the flush. */
  originLoads: number;
}

interface FlushRow {
  variant: string;
  hitRatioBefore: number;
  target: number;
  firstBlockAfter: number;
  /** Over every post-flush request replayed (`maxAfter`). */
  hitRatioAfter: number;
  /** Over the first min(5,000, maxAfter) requests after the flush. */
  hitRatioFirst: number;
  blocks: FlushBlock[];
  recovered: boolean;
  /** Requests after the flush until the end of the first block at ≥ target (or `maxAfter`). */
  requestsToRecover: number;
  simulatedSeconds: number;
  /** From FLUSHALL to the end of that block, restore included. */
  wallMs: number;
  restoreMs: number | null;
  readerOriginLoadsToRecover: number;
  snapshot: { keys: number; rawBytes: number; compressedBytes: number; saveMs: number } | null;
  errors: number;
}

async function measureFlush(url: string, s: FlushSettings, warming: Warming, log: (line: string) => void) {
  const length = s.warmupRequests + s.maxAfter;
  const trace = zipfTrace({ keys: s.keys, alpha: s.alpha, length, seed: s.seed });
  const names = keyNames(trace, NS);
  const rows: FlushRow[] = [];
  const problems: string[] = [];
  for (const snapshotTopN of [null, ...s.snapshotTopNs]) {
    const withSnapshot = snapshotTopN !== null;
    const variant = withSnapshot ? `snapshot restore (topN ${snapshotTopN})` : "no restore";
    await flushRedis(url);
    const state = await openReplay(url, `wbench3`, s, trace, names);
    const { subject, clock } = state;
    const handle = engineFor(warming.repo, subject.port, clock, `bench-flush-${snapshotTopN ?? "none"}`);
    await replay(state, trace, 0, s.warmupRequests, s);
    const before = ratio(state.hits, s.warmupRequests - s.baselineRequests, s.warmupRequests);
    const target = 0.9 * before;

    let snapshot: FlushRow["snapshot"] = null;
    if (withSnapshot) {
      const saveStarted = performance.now();
      const saved = await runOnce(
        warming.repo,
        handle,
        { name: jobName("snapshot-save"), source: { type: "snapshot", action: "save", topN: snapshotTopN }, namespace: NS },
        clock.now(),
      );
      const saveMs = performance.now() - saveStarted;
      const record = await warming.repo.loadSnapshot({ namespace: NS });
      snapshot = { keys: saved.warmed, rawBytes: record?.rawBytes ?? 0, compressedBytes: record?.compressedBytes ?? 0, saveMs };
    }

    // The flush: every Redis key gone (values, coherence stream, leases), then L1 cleared the way
    // a coherence gap clears it.
    const flushStarted = performance.now();
    await subject.redis.flushall();
    subject.cache.applyGap();
    let restoreMs: number | null = null;
    if (withSnapshot) {
      const restoreStarted = performance.now();
      await runOnce(warming.repo, handle, { name: jobName("snapshot-restore"), source: { type: "snapshot", action: "restore" }, namespace: NS }, clock.now());
      restoreMs = performance.now() - restoreStarted;
    }
    const loadsAtFlush = subject.counter.loads;

    // Replay the whole post-flush stretch (the same requests for both variants), noting each
    // block's hit ratio, the wall time since the flush and the origin loads since the flush.
    const blocks: FlushBlock[] = [];
    await replay(state, trace, s.warmupRequests, length, s, {
      alignTo: s.block,
      afterChunk: (index) => {
        const after = index - s.warmupRequests;
        if (after % s.block === 0) {
          blocks.push({
            after,
            hitRatio: ratio(state.hits, index - s.block, index),
            wallMs: performance.now() - flushStarted,
            originLoads: subject.counter.loads - loadsAtFlush,
          });
        }
        return false;
      },
    });
    const recovery = blocks.find((b) => b.hitRatio >= target);
    const last = blocks[blocks.length - 1];
    const requests = recovery?.after ?? s.maxAfter;
    rows.push({
      variant,
      hitRatioBefore: before,
      target,
      firstBlockAfter: blocks[0]?.hitRatio ?? NaN,
      hitRatioAfter: ratio(state.hits, s.warmupRequests, length),
      hitRatioFirst: ratio(state.hits, s.warmupRequests, s.warmupRequests + Math.min(5_000, s.maxAfter)),
      recovered: recovery !== undefined,
      requestsToRecover: requests,
      simulatedSeconds: requests / s.rate,
      wallMs: (recovery ?? last).wallMs,
      restoreMs,
      readerOriginLoadsToRecover: (recovery ?? last).originLoads,
      blocks,
      snapshot,
      errors: state.errors,
    });
    problems.push(...handle.problems);
    const row = rows[rows.length - 1];
    log(
      `  flush: ${variant}: before ${pct(before)}, first block after ${pct(row.firstBlockAfter)}, back to 90% after ${row.recovered ? "" : "more than "}${requests} requests, ${ms(row.wallMs)}`,
    );
    await subject.close();
  }
  return { rows, problems };
}

async function flushRedis(url: string): Promise<void> {
  const admin = connectRedis(url);
  try {
    await admin.flushall();
  } finally {
    await admin.quit().catch(() => admin.disconnect());
  }
}

// -------------------------------------------------------------------------------------------------
// The whole run

export interface WarmingBenchResults {
  schema: 1;
  kind: "warming";
  date: string;
  mode: WarmingBenchMode;
  machine: { cpuModel: string; cores: number; memoryBytes: number; os: string; node: string; redis: string; loadAverage: number[] };
  seconds: number;
  settings: Settings;
  throughput: { rows: ThroughputRow[] };
  hot: { rows: HotRow[]; requests: number; measuredFrom: number };
  flush: { rows: FlushRow[] };
  tables: Table[];
  notes: string[];
  problems: string[];
}

const pct = (value: number) => (Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : "n/a");
const count = (value: number) => value.toLocaleString("en");

function redisVersion(): string {
  try {
    return /v=(\S+)/.exec(execFileSync("redis-server", ["--version"], { encoding: "utf8" }))?.[1] ?? "unknown";
  } catch {
    return "unknown";
  }
}

export async function runWarmingBench(mode: WarmingBenchMode, options: { redisUrl?: string; log?: (line: string) => void } = {}): Promise<WarmingBenchResults> {
  const log = options.log ?? (() => undefined);
  const settings = SETTINGS[mode];
  const started = performance.now();
  const server = options.redisUrl ? undefined : await startRedisServer();
  const url = options.redisUrl ?? server!.url;
  const warming = await openWarming();
  try {
    log(`1. throughput (${count(settings.throughput.keys)} keys)`);
    const throughput = await measureThroughput(url, settings.throughput, warming, log);
    log(`2. hit ratio with and without hot warming (${count(settings.hot.minutes * 60 * settings.hot.rate)} requests per variant)`);
    const hot = await measureHot(url, settings.hot, warming, log);
    log(`3. recovery after a flush`);
    const flush = await measureFlush(url, settings.flush, warming, log);
    const h = settings.hot;
    const f = settings.flush;
    const tables: Table[] = [
      {
        title: `1. Warming throughput, fast in-process origin, ${count(settings.throughput.keys)} keys (median of ${settings.throughput.rounds})`,
        header: ["path", "batch × in flight", "time", "keys/s", "sampled keys in L2"],
        rows: throughput.rows.map((r) => [r.path, `${r.batchSize} × ${r.concurrency}`, ms(r.medianMs), rate(r.keysPerSec), r.verified]),
      },
      {
        title: `2. Zipf replay (${count(h.keys)} keys, alpha ${h.alpha}, ${h.rate} req/s simulated, TTL ${h.ttlSeconds} s, ${h.minutes} min; hit ratio after minute ${h.warmupMinutes})`,
        header: ["variant", "hit ratio", "reader origin loads", "warming origin loads", "total origin loads", "warming runs", "wall"],
        rows: hot.rows.map((r) => [
          r.variant,
          pct(r.hitRatio),
          count(r.readerOriginLoads),
          count(r.warmingOriginLoads),
          count(r.totalOriginLoads),
          String(r.warmingRuns),
          ms(r.wallMs),
        ]),
      },
      {
        title: `3. Back to 90% of the previous hit ratio after FLUSHALL + L1 clear (${count(f.keys)} keys, alpha ${f.alpha}, ${f.rate} req/s simulated, TTL ${f.ttlSeconds} s, blocks of ${count(f.block)} requests)`,
        header: [
          "variant",
          "hit ratio before",
          "first block after",
          "requests to 90%",
          "simulated time",
          "wall (flush → 90%)",
          "restore",
          "reader origin loads until then",
          `hit ratio, first ${count(Math.min(5_000, f.maxAfter))} after`,
        ],
        rows: flush.rows.map((r) => [
          r.variant,
          pct(r.hitRatioBefore),
          pct(r.firstBlockAfter),
          `${r.recovered ? "" : "> "}${count(r.requestsToRecover)}`,
          `${r.recovered ? "" : "> "}${r.simulatedSeconds.toFixed(0)} s`,
          ms(r.wallMs),
          r.restoreMs === null ? "" : ms(r.restoreMs),
          count(r.readerOriginLoadsToRecover),
          pct(r.hitRatioFirst),
        ]),
      },
    ];
    const notes = [
      "Part 1 drives the real engine: an `origin` job created and enqueued in the warming repository (PGlite in memory), claimed by `WarmingEngine.pump`, listed page by page from the origin's `listQuery`, batched by `runBatches` with progress saved per batch, each batch `loadMany` from the SQL origin code over an in-process executor, then `TieredCache.setMany` (pipelined L2 write on Redis, coherence announcement, L1 fill). Not included: the service-to-service HTTP hop (origin-load/store calls) and a PostgreSQL server. The bare path does the same loads and stores without the engine.",
      `Parts 2 and 3 replay a seeded zipf trace on a virtual clock (request i at i/${h.rate} s; ${h.inFlight} requests at a time), the cache without a grace period so that an expired entry is a miss; a hit is a read served fresh from L1 or L2. The hot job (\`* * * * *\`, refresh-ahead ${h.refreshAheadSeconds} s, days 0, TTL ${h.ttlSeconds} s) is run by the engine's scheduler tick every simulated minute; its keys come from \`refreshAheadKeys\` over the cache's hot-key TopK (capacity 2,000).`,
      `Part 3: the snapshot was saved by a \`snapshot\` job (action save) just before the flush (${flush.rows
        .filter((r) => r.snapshot)
        .map(
          (r) =>
            `${count(r.snapshot!.keys)} keys, ${(r.snapshot!.rawBytes / 1024).toFixed(0)} KiB JSON → ${(r.snapshot!.compressedBytes / 1024).toFixed(0)} KiB gzip`,
        )
        .join(
          "; ",
        )}) and restored by a \`snapshot\` restore job right after it; "previous hit ratio" is that of the last ${count(f.baselineRequests)} requests before the flush. Wall times include the replay itself and so depend on the machine's load.`,
    ];
    const problems = [...throughput.problems, ...hot.problems, ...flush.problems];
    return {
      schema: 1,
      kind: "warming",
      date: new Date().toISOString(),
      mode,
      machine: {
        cpuModel: cpus()[0]?.model.trim() ?? "unknown",
        cores: cpus().length,
        memoryBytes: totalmem(),
        os: `${type()} ${release()}`,
        node: process.version,
        redis: redisVersion(),
        loadAverage: loadavg(),
      },
      seconds: (performance.now() - started) / 1000,
      settings,
      throughput: { rows: throughput.rows },
      hot: { rows: hot.rows, requests: hot.length, measuredFrom: hot.measuredFrom },
      flush: { rows: flush.rows },
      tables,
      notes,
      problems,
    };
  } finally {
    await warming.close();
    await server?.stop();
  }
}

export function renderWarmingReport(results: WarmingBenchResults): string {
  const parts = [
    `## Warming benchmark (${results.mode}, ${results.seconds.toFixed(0)} s; ${results.machine.cores} × ${results.machine.cpuModel}, load ${results.machine.loadAverage.map((l) => l.toFixed(2)).join(" ")})`,
  ];
  for (const table of results.tables) parts.push(`**${table.title}**`, renderTable(table));
  parts.push(results.notes.map((n) => `- ${n}`).join("\n"));
  if (results.problems.length) parts.push(`Problems reported by the engine:\n${results.problems.map((p) => `- ${p}`).join("\n")}`);
  return parts.join("\n\n");
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const mode: WarmingBenchMode = argv.includes("--tiny") ? "tiny" : argv.includes("--quick") ? "quick" : "full";
  const outDir = resolve(argv.find((a) => a.startsWith("--out-dir="))?.slice("--out-dir=".length) ?? join(benchDir, "results"));
  const results = await runWarmingBench(mode, { log: (line) => console.error(line) });
  console.log(renderWarmingReport(results));
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `warming-${results.date.slice(0, 10)}${mode === "full" ? "" : `-${mode}`}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nresults: ${relative(process.cwd(), file) || file}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
