/**
 * Child process of section 1: builds one subject (Cachet, bentocache or cache-manager), each as a
 * writer instance with a large L1 and a reader instance whose L1 holds a single entry (so its
 * reads of many keys are L2 hits), all on the same Redis, then runs the section's commands (one
 * timed run of one operation each, see `serveChild`) until its stdin ends. The operations:
 *   l1Hit   get of a key resident in the writer's L1
 *   l2Hit   get through the reader of keys only Redis holds (then filled into its 1-entry L1)
 *   miss    get-or-load of a never-seen key from a fast in-process loader (then stored in both tiers)
 *   set     write of an existing key to both tiers
 * Usage: tiered-worker.ts <subject> <redis url> <settings json>
 */
import { serveChild } from "../lib/child.ts";
import { closedLoop } from "../lib/load.ts";
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
import type { Latency } from "../lib/stats.ts";

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
}

export interface OperationFigures {
  opsPerSec: number;
  cpuMicrosPerOp: number;
  latency: Latency;
  runs: number[];
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

/** A command of the section: one measured run of `op` (or its warm-up), or the source check. */
export type WorkerCommand = { op: Operation; ms: number } | { check: true };

/** Builds the subject and fills what its operations read: hot keys in the writer's L1, warm keys only in Redis. */
async function setUp(subjectName: TieredSubjectName, url: string, settings: WorkerSettings) {
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
  return { subject, ops, concurrency: settings.concurrency };
}

if (process.argv[1]?.endsWith("tiered-worker.ts")) {
  const [subject, url, settings] = process.argv.slice(2);
  void serveChild(
    () => setUp(subject as TieredSubjectName, url, JSON.parse(settings) as WorkerSettings),
    async (state, command) => {
      const c = command as WorkerCommand;
      if ("check" in c) return state.subject.sourceCheck();
      return closedLoop(state.ops[c.op], { concurrency: state.concurrency, durationMs: c.ms });
    },
    (state) => state.subject.close(),
  );
}
