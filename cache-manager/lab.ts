/**
 * The Lab: the cache's mechanisms demonstrated against the live Redis, for the dashboard's Lab
 * page. `POST /api/lab/:scenario` (admin) runs one scenario and answers with numbers to chart.
 *
 * Each run builds its own rig: TieredCache instances (the same class the service runs) on this
 * deployment's Redis, under a key prefix of their own (`cachet:lab:<run>:`), with a lab origin
 * whose latency is known and whose calls are counted. The service's own cache, its breaker and
 * its degradation level are never touched (the L2 outage is injected into the rig's L2 with the
 * chaos wrapper, and cleared before the run ends). Every key the run wrote is deleted afterwards.
 */
import { randomBytes } from "node:crypto";
import { api, APIError } from "encore.dev/api";
import type { Redis } from "ioredis";
import { connectRedis } from "../lib/redis";
import { requireRole } from "./auth";
import { redisUrl } from "./config";
import type { Envelope } from "./core/envelope";
import { L1Cache } from "./core/l1/cache";
import { FaultInjector } from "./core/l2/chaos";
import { createSingleL2 } from "./core/l2/single";
import type { L2Store } from "./core/l2/types";
import type { OriginRegistry } from "./core/origins/registry";
import type { LoadResult, Origin, OriginConfig } from "./core/origins/types";
import { DEGRADATION_LEVELS } from "./core/resilience/degradation";
import { RedisLease } from "./core/resilience/lease";
import { TieredCache } from "./core/tiered";
import { createTieredCache } from "./core/tiered/factory";
import { WriteBehindQueue } from "./core/writebehind/queue";
import { edge } from "./errors";
import { cacheRuntime } from "./runtime";

export const LAB_SCENARIOS = ["cache-aside", "write-modes", "stampede", "l2-outage", "coherence"] as const;
export type LabScenario = (typeof LAB_SCENARIOS)[number];

export interface LabRequest {
  scenario: string;
  /** Requests per variant (cache-aside, write-modes): 1 to 200, default 20. */
  samples?: number;
  /** The lab origin's latency per call, 0 to 1,000 ms (default 50; 100 for the stampede). */
  originLatencyMs?: number;
  /** Concurrent requests for the stampede: 2 to 1,000, default 200. */
  concurrency?: number;
}

/** A headline number. */
export interface LabMetric {
  label: string;
  value: number;
  unit: string;
}

/** One bar: `variant`'s value within `group` (e.g. group "p50", variant "L1 hit"). */
export interface LabBar {
  group: string;
  variant: string;
  value: number;
  unit: string;
}

/** One point of a line chart: `series` at `x` (see `xLabel`). */
export interface LabPoint {
  x: number;
  series: string;
  value: number;
}

/** A timeline annotation, e.g. "L2 down" at 500 ms. */
export interface LabEvent {
  x: number;
  label: string;
}

export interface LabResult {
  scenario: string;
  title: string;
  /** One sentence with the result. */
  summary: string;
  ranAt: string;
  durationMs: number;
  metrics: LabMetric[];
  bars: LabBar[];
  points: LabPoint[];
  xLabel: string;
  yLabel: string;
  events: LabEvent[];
  notes: string[];
}

// ---------------------------------------------------------------------------------------------
// Pure helpers

/** The q-quantile (0..1) of `values` by nearest rank; 0 for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function intIn(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) throw APIError.invalidArgument(`"${name}" must be a whole number from ${min} to ${max}`);
  return v;
}

/** Times `fn` in milliseconds (sub-millisecond precision). */
async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

function latencyBars(variants: Record<string, number[]>): LabBar[] {
  const bars: LabBar[] = [];
  for (const [group, q] of [["p50", 0.5], ["p99", 0.99]] as const) {
    for (const [variant, samples] of Object.entries(variants)) bars.push({ group, variant, value: round(quantile(samples, q)), unit: "ms" });
  }
  return bars;
}

// ---------------------------------------------------------------------------------------------
// The rig

/** A namespace origin with a known latency that counts its calls and remembers its writes. */
class LabOrigin {
  loads = 0;
  writes = new Map<string, { value: unknown; at: number }>();
  private readonly values = new Map<string, unknown>();

  constructor(
    readonly latencyMs: number,
    readonly writeLatencyMs = latencyMs,
  ) {}

  seed(key: string, value: unknown) {
    this.values.set(key, value);
  }

  async load(key: string): Promise<LoadResult> {
    this.loads++;
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    return this.values.has(key) ? { found: true, value: this.values.get(key) } : { found: true, value: { key, loadedAt: Date.now() } };
  }

  async write(key: string, value: unknown): Promise<void> {
    if (this.writeLatencyMs > 0) await sleep(this.writeLatencyMs);
    this.values.set(key, value);
    this.writes.set(key, { value, at: performance.now() });
  }

  /** The registry's face, as TieredCache uses it: `resolve`, `load` and `write`. */
  asRegistry(): OriginRegistry {
    const origin: Origin = {
      namespace: "lab:",
      kind: "http",
      config: { namespace: "lab:", kind: "http", url: "lab://origin" } as unknown as OriginConfig,
      load: (key) => this.load(key),
      write: (key, value) => this.write(key, value),
    };
    return { resolve: () => origin, load: (key: string) => this.load(key), write: (key: string, value: unknown) => this.write(key, value) } as unknown as OriginRegistry;
  }
}

interface RigCacheOptions {
  l2?: L2Store;
  coherent?: boolean;
  graceMs?: number;
  breakerThreshold?: number;
  breakerOpenMs?: number;
  enqueueWrite?: (key: string, value: unknown) => Promise<void>;
}

const NO_COHERENCE = { announce: () => undefined, flush: async () => undefined };

/** Redis connection, L2 store and caches of one run, all under `cachet:lab:<run>:`. */
class LabRig {
  private readonly closers: Array<() => Promise<unknown>> = [];

  private constructor(
    readonly run: string,
    readonly url: string,
    readonly redis: Redis,
    readonly l2: L2Store,
  ) {}

  static async open(): Promise<LabRig> {
    const run = randomBytes(4).toString("hex");
    const url = redisUrl();
    const redis = connectRedis(url);
    redis.on("error", () => undefined);
    const l2 = await createSingleL2({ client: redis, prefix: `cachet:lab:${run}:v:` });
    return new LabRig(run, url, redis, l2);
  }

  /** A TieredCache as one service instance would have it (optionally with a coherence bus). */
  async cache(origin: LabOrigin, options: RigCacheOptions = {}): Promise<TieredCache> {
    const cacheOptions = {
      l1: new L1Cache<Envelope>({ maxEntries: 10_000, maxBytes: 16 * 1024 * 1024, now: () => Date.now() }),
      l2: options.l2 ?? this.l2,
      origins: origin.asRegistry(),
      lease: new RedisLease({ redis: this.redis, prefix: `cachet:lab:${this.run}:lease:` }),
      enqueueWrite: options.enqueueWrite,
      graceMs: options.graceMs ?? 0,
      breakerThreshold: options.breakerThreshold,
      breakerOpenMs: options.breakerOpenMs,
      softTimeoutMs: 5_000,
      jitter: 0,
    };
    if (!options.coherent) return new TieredCache({ ...cacheOptions, coherence: NO_COHERENCE });
    const { cache, bus } = createTieredCache({ ...cacheOptions, bus: { url: this.url, streamKey: `cachet:lab:${this.run}:coherence`, ignoreOwn: true, blockMs: 200 } });
    this.closers.push(() => bus.stop());
    await bus.start();
    return cache;
  }

  /** A write-behind queue on a stream of this run, writing to `origin`. */
  async writeBehind(origin: LabOrigin): Promise<WriteBehindQueue> {
    const queue = new WriteBehindQueue({
      redis: this.redis,
      blockingRedis: () => connectRedis(this.url),
      streamKey: `cachet:lab:${this.run}:write-behind`,
      consumer: `lab-${this.run}`,
      write: (key, value) => origin.write(key, value),
      blockMs: 200,
      pollMs: 20,
    });
    this.closers.push(() => queue.stop(2_000));
    await queue.start();
    return queue;
  }

  /** Stops the rig's buses and queues, deletes every key of the run and closes Redis. */
  async close(): Promise<void> {
    await Promise.allSettled(this.closers.map((close) => close()));
    try {
      for (const match of [`cachet:lab:${this.run}*`, `{cachet:lab:${this.run}*`]) {
        let cursor = "0";
        do {
          const [next, keys] = await this.redis.scan(cursor, "MATCH", match, "COUNT", 500);
          if (keys.length) await this.redis.unlink(...keys);
          cursor = next;
        } while (cursor !== "0");
      }
    } finally {
      this.redis.disconnect();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios

type Params = { samples: number; originLatencyMs: number; concurrency: number };
type Outcome = Omit<LabResult, "scenario" | "ranAt" | "durationMs">;

const BLANK = { bars: [], points: [], events: [], notes: [], xLabel: "", yLabel: "" };

/** Read-through: a miss goes to the origin; the next read is an L1 hit; with L1 dropped, an L2 hit. */
async function cacheAside(rig: LabRig, p: Params): Promise<Outcome> {
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
    points.push({ x: i + 1, series: "miss", value: round(miss.ms) }, { x: i + 1, series: "L2 hit", value: round(l2.ms) }, { x: i + 1, series: "L1 hit", value: round(l1.ms) });
  }
  const p50 = (s: number[]) => round(quantile(s, 0.5));
  return {
    ...BLANK,
    title: "Cache-aside: miss vs hit latency",
    summary: `A miss took ${p50(samples.miss)} ms (origin ${p.originLatencyMs} ms); an L2 hit ${p50(samples["L2 hit"])} ms; an L1 hit ${p50(samples["L1 hit"])} ms (p50).`,
    metrics: [
      { label: "miss p50", value: p50(samples.miss), unit: "ms" },
      { label: "L2 hit p50", value: p50(samples["L2 hit"]), unit: "ms" },
      { label: "L1 hit p50", value: p50(samples["L1 hit"]), unit: "ms" },
      { label: "origin calls", value: origin.loads, unit: "" },
      { label: "L1 speed-up over a miss", value: round(quantile(samples.miss, 0.5) / Math.max(quantile(samples["L1 hit"], 0.5), 0.001), 0), unit: "×" },
    ],
    bars: latencyBars(samples),
    points,
    xLabel: "request",
    yLabel: "ms",
    notes: [`${p.samples} keys, each read three times: a miss, an L1 hit, then an L2 hit after dropping the local copy.`],
  };
}

/** The same writes acknowledged after the origin (write-through) or before it (write-behind). */
async function writeModes(rig: LabRig, p: Params): Promise<Outcome> {
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
  const p50 = (s: number[]) => round(quantile(s, 0.5));
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

/** An expired hot key hit by a burst: naive cache-aside vs single-flight + lease across two instances. */
async function stampede(rig: LabRig, p: Params): Promise<Outcome> {
  const key = "lab:hot";
  const expire = async () => {
    await rig.l2.set(key, JSON.stringify({ v: "old", f: Date.now() + 20 }), 30);
    await sleep(60);
  };

  // Without protection: every request that misses loads from the origin and writes L2 back.
  const naiveOrigin = new LabOrigin(p.originLatencyMs);
  await expire();
  const naive = await Promise.all(
    Array.from({ length: p.concurrency }, () =>
      timed(async () => {
        if ((await rig.l2.get(key)) !== null) return;
        const loaded = await naiveOrigin.load(key);
        await rig.l2.set(key, JSON.stringify({ v: loaded.found ? loaded.value : null, f: Date.now() + 60_000 }), 60_000);
      }),
    ),
  );
  await rig.l2.delete([key]);

  // With protection: the same burst split over two instances, sharing L2 and the lease.
  const origin = new LabOrigin(p.originLatencyMs);
  const instances = [await rig.cache(origin), await rig.cache(origin)];
  await instances[0].set(key, "old", { ttlMs: 20 });
  await sleep(60);
  const protectedRuns = await Promise.all(Array.from({ length: p.concurrency }, (_, i) => timed(() => instances[i % 2].get(key))));

  const naiveMs = naive.map((r) => r.ms);
  const protectedMs = protectedRuns.map((r) => r.ms);
  return {
    ...BLANK,
    title: "Stampede on an expired hot key",
    summary: `${p.concurrency} concurrent reads of an expired key: ${naiveOrigin.loads} origin calls without protection, ${origin.loads} with single-flight and the Redis lease (two instances).`,
    metrics: [
      { label: "requests", value: p.concurrency, unit: "" },
      { label: "origin calls, unprotected", value: naiveOrigin.loads, unit: "" },
      { label: "origin calls, protected", value: origin.loads, unit: "" },
      { label: "p99 unprotected", value: round(quantile(naiveMs, 0.99)), unit: "ms" },
      { label: "p99 protected", value: round(quantile(protectedMs, 0.99)), unit: "ms" },
    ],
    bars: [
      { group: "origin calls", variant: "unprotected", value: naiveOrigin.loads, unit: "" },
      { group: "origin calls", variant: "protected", value: origin.loads, unit: "" },
      ...latencyBars({ unprotected: naiveMs, protected: protectedMs }),
    ],
    notes: [`The origin takes ${p.originLatencyMs} ms per call. Protected: one load per key per instance (single-flight), one per key across instances (SET NX PX lease); the others wait for its value in L2.`],
  };
}

const BREAKER_STATES = ["closed", "half-open", "open"] as const;

/** L2 fails for a while: the breaker opens, the level drops to l1-only, then both recover. */
async function l2Outage(rig: LabRig, p: Params): Promise<Outcome> {
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
        if ((error as { code?: string }).code === "E_CACHE_UNAVAILABLE") refused++;
      }
      served += ok;
      failed += errors;
      const level = cache.level;
      const breaker = cache.breaker.state;
      if (openedAt === undefined && breaker === "open") openedAt = t;
      if (level !== lastLevel) events.push({ x: t, label: `level ${level}` });
      if (openedAt !== undefined && recoveredAt === undefined && level === "normal" && breaker === "closed" && events.some((e) => e.label === "L2 back")) recoveredAt = t;
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
            recoveredAt !== undefined && backAt !== undefined ? `back to normal ${recoveredAt - backAt} ms after L2 returned` : "it had not recovered by the end of the run"
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

/** Two instances: plain local caches keep serving the old value; coherent L1s drop it at once. */
async function coherence(rig: LabRig): Promise<Outcome> {
  const key = "lab:shared";
  const windowMs = 800;
  const everyMs = 20;
  const points: LabPoint[] = [];

  // Plain local caches: a private map per instance in front of the shared L2, no announcements.
  const plain = [new Map<string, unknown>(), new Map<string, unknown>()];
  const plainRead = async (i: number) => {
    if (plain[i].has(key)) return plain[i].get(key);
    const raw = await rig.l2.get(key);
    const value = raw === null ? null : (JSON.parse(raw.toString()) as { v: unknown }).v;
    plain[i].set(key, value);
    return value;
  };
  await rig.l2.set(key, JSON.stringify({ v: 1, f: Date.now() + 60_000 }), 60_000);
  await plainRead(0);
  await plainRead(1);
  await rig.l2.set(key, JSON.stringify({ v: 2, f: Date.now() + 60_000 }), 60_000);
  plain[0].set(key, 2); // instance A wrote 2
  let plainStale = 0;
  let plainReads = 0;
  const plainStart = performance.now();
  while (performance.now() - plainStart < windowMs) {
    const x = Math.round(performance.now() - plainStart);
    const stale = (await plainRead(1)) !== 2;
    plainReads++;
    if (stale) plainStale++;
    points.push({ x, series: "plain local caches", value: stale ? 1 : 0 });
    await sleep(everyMs);
  }
  await rig.l2.delete([key]);

  // Coherent L1: the same two instances as the service builds them, with the coherence stream.
  const origin = new LabOrigin(0);
  const [a, b] = [await rig.cache(origin, { coherent: true }), await rig.cache(origin, { coherent: true })];
  await a.set(key, 1, { ttlMs: 60_000 });
  await sleep(50);
  await b.get(key);
  const bHeld = (await b.get(key)).source;
  await a.set(key, 2, { ttlMs: 60_000 });
  let coherentStale = 0;
  let coherentReads = 0;
  let coherentAfter: number | undefined;
  const coherentStart = performance.now();
  while (performance.now() - coherentStart < windowMs) {
    const x = Math.round(performance.now() - coherentStart);
    const stale = (await b.get(key)).value !== 2;
    coherentReads++;
    if (stale) coherentStale++;
    else coherentAfter ??= x;
    points.push({ x, series: "coherent L1", value: stale ? 1 : 0 });
    await sleep(coherentAfter === undefined ? 2 : everyMs);
  }
  return {
    ...BLANK,
    title: "Two instances: plain local caches vs coherent L1",
    summary: `After instance A wrote a new value, instance B served the old one in ${plainStale} of ${plainReads} reads with plain local caches, and in ${coherentStale} of ${coherentReads} with coherent L1 (fresh after ${coherentAfter ?? "> " + windowMs} ms).`,
    metrics: [
      { label: "stale reads, plain local caches", value: plainStale, unit: `of ${plainReads}` },
      { label: "stale reads, coherent L1", value: coherentStale, unit: `of ${coherentReads}` },
      { label: "B fresh after (coherent)", value: coherentAfter ?? -1, unit: "ms" },
    ],
    bars: [
      { group: "stale reads", variant: "plain local caches", value: plainStale, unit: "" },
      { group: "stale reads", variant: "coherent L1", value: coherentStale, unit: "" },
    ],
    points,
    xLabel: "ms after the write",
    yLabel: "B serves the old value (1) or the new one (0)",
    notes: [`B held the key in its L1 before the write (its second read came from ${bHeld}). A plain local cache keeps the old value until its own TTL passes.`],
  };
}

const RUNNERS: Record<LabScenario, (rig: LabRig, p: Params) => Promise<Outcome>> = {
  "cache-aside": cacheAside,
  "write-modes": writeModes,
  stampede,
  "l2-outage": l2Outage,
  coherence,
};

let running: string | undefined;

/** Runs one Lab scenario against this deployment's Redis and reports what it measured. Admin. */
export const runLab = api({ method: "POST", path: "/api/lab/:scenario", expose: true, auth: true }, async (req: LabRequest): Promise<LabResult> =>
  edge(async () => {
    requireRole("admin");
    if (!(LAB_SCENARIOS as readonly string[]).includes(req.scenario)) {
      throw APIError.notFound(`no lab scenario "${req.scenario}"; the scenarios are ${LAB_SCENARIOS.join(", ")}`);
    }
    const scenario = req.scenario as LabScenario;
    const params: Params = {
      samples: intIn("samples", req.samples, 20, 1, 200),
      originLatencyMs: intIn("originLatencyMs", req.originLatencyMs, scenario === "stampede" ? 100 : 50, 0, 1_000),
      concurrency: intIn("concurrency", req.concurrency, 200, 2, 1_000),
    };
    if (running) throw APIError.resourceExhausted(`the "${running}" scenario is running on this instance; try again when it finishes`);
    running = scenario;
    const started = performance.now();
    let rig: LabRig | undefined;
    try {
      rig = await LabRig.open();
      const outcome = await RUNNERS[scenario](rig, params);
      return { scenario, ranAt: new Date().toISOString(), durationMs: Math.round(performance.now() - started), ...outcome };
    } finally {
      running = undefined;
      await rig?.close().catch(() => undefined);
    }
  }),
);
