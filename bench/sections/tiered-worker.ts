/**
 * Child process of section 1: builds one subject (Cachet, bentocache or cache-manager), each as a
 * writer instance with a large L1 and a reader instance whose L1 holds a single entry (so its
 * reads of many keys are L2 hits), all on the same Redis, and measures four operations:
 *   l1Hit   get of a key resident in the writer's L1
 *   l2Hit   get through the reader of keys only Redis holds (then filled into its 1-entry L1)
 *   miss    get-or-load of a never-seen key from a fast in-process loader (then stored in both tiers)
 *   set     write of an existing key to both tiers
 * Usage: tiered-worker.ts <subject> <redis url> <settings json>
 */
import { childMain } from "../lib/child.ts";
import { closedLoop, type LoadResult } from "../lib/load.ts";
import { createCachetInstance, FAST_ORIGIN_NAMESPACE, sampleValue } from "../lib/cachet.ts";
import {
  importPeer,
  type BentoMemoryModule,
  type BentoModule,
  type BentoRedisModule,
  type CacheableModule,
  type CacheManagerModule,
  type KeyvModule,
  type KeyvRedisModule,
} from "../lib/peers.ts";
import { median, medianLatency, type Latency } from "../lib/stats.ts";

export const OPERATIONS = ["l1Hit", "l2Hit", "miss", "set"] as const;
export type Operation = (typeof OPERATIONS)[number];
export const SUBJECTS = ["cachet", "bentocache", "cache-manager"] as const;
export type TieredSubjectName = (typeof SUBJECTS)[number];

export interface WorkerSettings {
  concurrency: number;
  warmMs: number;
  runMs: number;
  runs: number;
  hotKeys: number;
  warmKeys: number;
  /** Measure only these operations (profiling). */
  only?: Operation[];
}

export interface OperationFigures {
  opsPerSec: number;
  cpuMicrosPerOp: number;
  latency: Latency;
  runs: number[];
}

export interface WorkerResult {
  subject: TieredSubjectName;
  operations: Record<Operation, OperationFigures>;
  /** Where the checked reads came from (sanity check that each op hits the tier it claims). */
  sourceCheck: Record<string, string>;
}

interface Subject {
  l1Hit(key: string): Promise<unknown>;
  l2Hit(key: string): Promise<unknown>;
  miss(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<unknown>;
  sourceCheck(): Promise<Record<string, string>>;
  close(): Promise<void>;
}

const TTL_MS = 10 * 60_000;
const L1_ENTRIES = 100_000;

async function cachetSubject(url: string, ns: string): Promise<Subject> {
  const writer = await createCachetInstance({ url, ns, l1: { maxEntries: L1_ENTRIES, maxBytes: 64 * 1024 * 1024 }, defaultTtlMs: TTL_MS });
  const reader = await createCachetInstance({ url, ns, l1: { maxEntries: 1, maxBytes: 64 * 1024 }, defaultTtlMs: TTL_MS });
  return {
    l1Hit: (key) => writer.cache.get(key),
    l2Hit: (key) => reader.cache.get(key),
    miss: (key) => writer.cache.get(FAST_ORIGIN_NAMESPACE + key),
    set: (key, value) => writer.cache.set(key, value, { ttlMs: TTL_MS }),
    async sourceCheck() {
      return {
        l1Hit: (await writer.cache.get("hot:1")).source,
        l2Hit: (await reader.cache.get("warm:2")).source,
        miss: (await writer.cache.get(`${FAST_ORIGIN_NAMESPACE}check-${Date.now()}`)).source,
      };
    },
    async close() {
      await writer.close();
      await reader.close();
    },
  };
}

async function bentoSubject(url: string, ns: string): Promise<Subject> {
  const { BentoCache, bentostore } = await importPeer<BentoModule>("bentocache");
  const { memoryDriver } = await importPeer<BentoMemoryModule>("bentocache/drivers/memory");
  const { redisDriver, redisBusDriver } = await importPeer<BentoRedisModule>("bentocache/drivers/redis");
  const { hostname, port } = new URL(url);
  const connection = { host: hostname, port: Number(port) };
  const make = (maxItems: number) =>
    new BentoCache({
      default: "main",
      prefix: ns,
      ttl: TTL_MS,
      stores: {
        main: bentostore()
          .useL1Layer(memoryDriver({ maxItems, maxSize: 64 * 1024 * 1024 }))
          .useL2Layer(redisDriver({ connection }))
          .useBus(redisBusDriver({ connection })),
      },
    });
  const writer = make(L1_ENTRIES);
  const reader = make(1);
  return {
    l1Hit: (key) => writer.get({ key }),
    l2Hit: (key) => reader.get({ key }),
    miss: (key) => writer.getOrSet({ key: FAST_ORIGIN_NAMESPACE + key, factory: () => sampleValue(key) }),
    set: (key, value) => writer.set({ key, value }),
    sourceCheck: async () => ({ note: "bentocache does not report the tier a value came from" }),
    async close() {
      await writer.disconnect();
      await reader.disconnect();
    },
  };
}

async function cacheManagerSubject(url: string, ns: string): Promise<Subject> {
  const { createCache } = await importPeer<CacheManagerModule>("cache-manager");
  const { Keyv } = await importPeer<KeyvModule>("keyv");
  const { default: KeyvRedis } = await importPeer<KeyvRedisModule>("@keyv/redis");
  const { CacheableMemory } = await importPeer<CacheableModule>("cacheable");
  const make = (lruSize: number) =>
    createCache({
      ttl: TTL_MS,
      stores: [new Keyv({ store: new CacheableMemory({ ttl: TTL_MS, lruSize }) }), new Keyv({ store: new KeyvRedis(url), namespace: ns })],
    });
  const writer = make(L1_ENTRIES);
  const reader = make(1);
  return {
    l1Hit: (key) => writer.get(key),
    l2Hit: (key) => reader.get(key),
    miss: (key) => writer.wrap(FAST_ORIGIN_NAMESPACE + key, () => sampleValue(key), TTL_MS),
    set: (key, value) => writer.set(key, value, TTL_MS),
    sourceCheck: async () => ({ note: "cache-manager does not report the tier a value came from" }),
    async close() {
      await writer.disconnect();
      await reader.disconnect();
    },
  };
}

async function measure(subjectName: TieredSubjectName, url: string, settings: WorkerSettings): Promise<WorkerResult> {
  const ns = `bench1:${subjectName}:${process.pid}`;
  const subject = await (subjectName === "cachet" ? cachetSubject : subjectName === "bentocache" ? bentoSubject : cacheManagerSubject)(url, ns);
  const value = sampleValue("x");
  for (let i = 0; i < settings.hotKeys; i++) await subject.set(`hot:${i}`, sampleValue(i));
  for (let i = 0; i < settings.warmKeys; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, settings.warmKeys - i) }, (_, j) => subject.set(`warm:${i + j}`, sampleValue(i + j))));
  }
  for (let i = 0; i < settings.hotKeys; i++) await subject.l1Hit(`hot:${i}`);
  let missSeq = 0;
  const ops: Record<Operation, (i: number) => Promise<unknown>> = {
    l1Hit: (i) => subject.l1Hit(`hot:${i % settings.hotKeys}`),
    l2Hit: (i) => subject.l2Hit(`warm:${i % settings.warmKeys}`),
    miss: () => subject.miss(`m${missSeq++}`),
    set: (i) => subject.set(`hot:${i % settings.hotKeys}`, value),
  };
  const operations = {} as Record<Operation, OperationFigures>;
  for (const name of OPERATIONS) {
    if (settings.only && !settings.only.includes(name)) continue;
    const load = { concurrency: settings.concurrency, durationMs: settings.warmMs };
    await closedLoop(ops[name], load);
    const runs: LoadResult[] = [];
    for (let r = 0; r < settings.runs; r++) runs.push(await closedLoop(ops[name], { ...load, durationMs: settings.runMs }));
    operations[name] = {
      opsPerSec: median(runs.map((run) => run.opsPerSec)),
      cpuMicrosPerOp: median(runs.map((run) => run.cpuMicrosPerOp)),
      latency: medianLatency(runs.map((run) => run.latency)),
      runs: runs.map((run) => Math.round(run.opsPerSec)),
    };
  }
  const sourceCheck = await subject.sourceCheck();
  await subject.close();
  return { subject: subjectName, operations, sourceCheck };
}

if (process.argv[1]?.endsWith("tiered-worker.ts")) {
  const [subject, url, settings] = process.argv.slice(2);
  void childMain(() => measure(subject as TieredSubjectName, url, JSON.parse(settings) as WorkerSettings));
}
