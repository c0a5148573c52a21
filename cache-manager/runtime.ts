/**
 * This instance's tiered cache, built once from configuration on first use: L1 sized by
 * CACHE_L1_MAX_BYTES / CACHE_L1_MAX_ENTRIES / CACHE_L1_POLICY; L2 on REDIS_URL, or on a Redis
 * Cluster / a ring of nodes (CACHE_L2_MODE, CACHE_L2_NODES, CACHE_L2_REPLICAS) while REDIS_URL
 * keeps the control data (coherence stream, leases, queue, origins); origins from
 * CACHE_ORIGINS_FILE plus the demo `product:` origin (CACHE_DEMO_LATENCY_MS of added latency),
 * coherence on a Redis Stream (CACHE_COHERENCE_MAX_OUTAGE_MS: past it without a read, reads skip L1 — level
 * `skip-l1` — and reconnecting is a gap that clears L1),
 * write-behind from a Redis Stream queue (CACHE_WRITE_BEHIND_CLAIM_IDLE_MS: a dead instance's
 * writes are taken over after this long; CACHE_WRITE_BEHIND_CONCURRENCY); origin loads answer stale
 * after CACHE_SOFT_TIMEOUT_MS and are aborted after CACHE_HARD_TIMEOUT_MS. With CACHE_L3 on, L3 (the
 * `l3` database, encrypted under CACHE_L3_KEY, kept CACHE_L3_RETENTION_MS) sits between L2 and the
 * origins: its copier follows the coherence stream, and its maintenance purges and re-encrypts.
 */
import { randomUUID } from "node:crypto";
import log from "encore.dev/log";
import { isServerMisconfiguration } from "../lib/api-errors";
import { CACHE_CONNECTION, connectRedis, waitReady } from "../lib/redis";
import { openTelemetryCacheTracer, tracingRequested } from "../lib/tracing";
import type { CoherenceBus } from "./core/coherence/bus";
import type { Envelope } from "./core/envelope";
import { L1Cache } from "./core/l1/cache";
import { createL2 } from "./core/l2/config";
import { demoProductOrigin } from "./core/origins/demo";
import { egressFetch, egressPolicyFromEnv } from "./core/origins/egress";
import { unreachableOrigins } from "./core/origins/reachability";
import { OriginRegistry } from "./core/origins/registry";
import { PolicyRegistry } from "./core/policy/registry";
import type { SqlExecutorResolver } from "./core/origins/types";
import { RedisLease } from "./core/resilience/lease";
import { CacheCounters } from "./core/stats/counters";
import type { TieredCache } from "./core/tiered";
import { createTieredCache } from "./core/tiered/factory";
import { WriteBehindQueue } from "./core/writebehind/queue";
import { L3Copier } from "./core/l3/copier";
import { parseKeyring } from "../lib/l3-keyring";
import { startL3Maintenance } from "./core/l3/maintenance";
import { PendingInvalidations } from "./core/l3/pending";
import { openPostgresL3 } from "./core/l3/postgres";
import type { L3Store } from "./core/l3/types";
import { encoreSql } from "../lib/sql";
import { startCacheReporting, type CacheReporting } from "./reporting";
import { DependencyError, redactUrl, waitForRedis } from "../lib/config/dependencies";
import { config, redisUrl } from "./config";
import { l3db, originExecutor } from "./db";

export interface CacheRuntime {
  cache: TieredCache;
  origins: OriginRegistry;
  /** The cache policy from Settings (L1 settings, per-namespace policies), shared by every instance. */
  policy: PolicyRegistry;
  writeBehind: WriteBehindQueue;
  coherence: CoherenceBus;
  counters: CacheCounters;
  instanceId: string;
  /** The per-second metrics report to monitoring. */
  reporting: CacheReporting;
  /** The L3 store, when CACHE_L3 is on. */
  l3?: L3Store;
}

/**
 * The L3 store when CACHE_L3 is on (its key check fails on a wrong CACHE_L3_KEY), and the id its
 * migration made: the copiers' consumer group and the pending invalidations' list are per L3
 * database, so deployments (or tests) sharing a Redis but not an L3 never touch each other's.
 */
async function openL3(settings: ReturnType<typeof config>): Promise<{ store: L3Store; id: string } | undefined> {
  if (settings.CACHE_L3 !== "on") return undefined;
  if (!settings.CACHE_L3_KEY) throw new DependencyError("CACHE_L3 is on but CACHE_L3_KEY is not set: set it to `<key id>:<base64 of 32 random bytes>`");
  const sql = encoreSql(l3db);
  const store = await openPostgresL3(sql, { keyring: parseKeyring(settings.CACHE_L3_KEY) });
  const [{ id }] = await sql.query<{ id: string }>("SELECT id FROM l3_store");
  return { store, id };
}

let runtime: Promise<CacheRuntime> | undefined;
/** The runtime once built: what the request path reads without awaiting a promise. */
let built: CacheRuntime | undefined;

/** The instance's cache, created on first call. */
export function cacheRuntime(): Promise<CacheRuntime> {
  runtime ??= build().then(
    (ready) => (built = ready),
    (error) => {
      runtime = undefined;
      throw error;
    },
  );
  return runtime;
}

/** The instance's cache if it is built already, else `undefined` (then `await cacheRuntime()`). */
export function builtCacheRuntime(): CacheRuntime | undefined {
  return built;
}

const originDatabase: SqlExecutorResolver = (database) => (database === undefined || database === "origins" ? originExecutor : undefined);

/** A warning per origin that does not answer at start: it may come back, and the cache serves what it holds meanwhile. */
async function warnAboutUnreachableOrigins(origins: OriginRegistry): Promise<void> {
  for (const origin of await unreachableOrigins(origins.list(), { sql: originDatabase })) {
    log.warn(`origin "${origin.namespace}" does not answer at ${origin.target}: ${origin.reason}; reads of its keys that miss the cache fail until it does`);
  }
}

async function build(): Promise<CacheRuntime> {
  const settings = config();
  const url = redisUrl();
  const instanceId = `cm-${process.pid}-${randomUUID().slice(0, 6)}`;
  await waitForRedis(url, { variable: "REDIS_URL" });
  const redis = connectRedis(url, CACHE_CONNECTION);
  // No offline queue on this connection: wait until it is ready before the first command.
  if (!(await waitReady(redis, 10_000))) throw new DependencyError(`cannot reach Redis at ${redactUrl(url)} (REDIS_URL): lost after the first answer`);
  const l2 = await createL2({ mode: settings.CACHE_L2_MODE, nodes: settings.CACHE_L2_NODES, replicas: settings.CACHE_L2_REPLICAS, prefix: "cachet:v:" }, redis);
  const opened = await openL3(settings);
  const origins = await OriginRegistry.open({
    redis,
    keyPrefix: "cachet:origins",
    configFile: settings.CACHE_ORIGINS_FILE,
    configs: settings.CACHE_ORIGINS_FILE ? undefined : [demoProductOrigin({ addedLatencyMs: settings.CACHE_DEMO_LATENCY_MS, database: "origins" })],
    deps: { sql: originDatabase, fetch: egressFetch(egressPolicyFromEnv(process.env)) },
  });
  origins.watch(1_000);
  void warnAboutUnreachableOrigins(origins);
  const writeBehind = new WriteBehindQueue({
    redis,
    blockingRedis: () => connectRedis(url),
    streamKey: "cachet:write-behind",
    consumer: instanceId,
    write: (key, value) => origins.write(key, value),
    claimIdleMs: settings.CACHE_WRITE_BEHIND_CLAIM_IDLE_MS,
    concurrency: settings.CACHE_WRITE_BEHIND_CONCURRENCY,
  });
  const policy = await PolicyRegistry.open({
    redis,
    keyPrefix: "cachet:policy",
    defaults: {
      l1: { policy: settings.CACHE_L1_POLICY, maxEntries: settings.CACHE_L1_MAX_ENTRIES, maxBytes: settings.CACHE_L1_MAX_BYTES },
      namespace: { defaultTtlMs: settings.CACHE_DEFAULT_TTL_MS, l3: opened !== undefined, l3RetentionMs: settings.CACHE_L3_RETENTION_MS },
    },
    onProblem: (problem) => log.warn(problem),
  });
  policy.watch(1_000);
  // The L1 settings from Settings, if an admin changed them, else the environment's.
  const l1 = new L1Cache<Envelope>({ ...policy.l1(), now: () => Date.now() });
  policy.onL1Change((l1Settings) => void l1.reconfigure(l1Settings));
  const { cache, bus: coherence } = createTieredCache({
    l1,
    policy,
    l2,
    origins,
    bus: { url, instanceId, ignoreOwn: true, maxOutageMs: settings.CACHE_COHERENCE_MAX_OUTAGE_MS },
    lease: new RedisLease({ redis, prefix: "cachet:lease:" }),
    enqueueWrite: async (key, value) => void (await writeBehind.enqueue(key, value)),
    supersedeQueuedWrite: (key) => writeBehind.supersede(key),
    defaultTtlMs: settings.CACHE_DEFAULT_TTL_MS,
    graceMs: settings.CACHE_GRACE_MS,
    softTimeoutMs: settings.CACHE_SOFT_TIMEOUT_MS,
    hardTimeoutMs: settings.CACHE_HARD_TIMEOUT_MS,
    // spans per tier when the OpenTelemetry variables ask for traces (README "Tracing")
    tracer: tracingRequested(process.env) ? openTelemetryCacheTracer : undefined,
    l3: opened && {
      store: opened.store,
      pending: new PendingInvalidations({ redis, key: `cachet:l3:pending:${opened.id}` }),
      retentionMs: settings.CACHE_L3_RETENTION_MS,
    },
  });
  // A queued write now at the origin invalidates what the cache took from the origin meanwhile.
  writeBehind.onApplied(async (key) => void (await cache.delete([key])));
  const counters = new CacheCounters(cache.events);
  await coherence.start();
  await writeBehind.start();
  if (opened && cache.l3) {
    const tier = cache.l3;
    tier.start();
    new L3Copier({
      redis: connectRedis(url),
      streamKey: coherence.streamKey,
      group: `cachet-l3:${opened.id}`,
      consumer: instanceId,
      copy: (keys) => tier.copy(keys),
      onLag: (lagMs) => tier.noteCopierLag(lagMs),
      onError: (error) => log.warn("L3 copier: a batch failed; it is retried", { error: String(error) }),
    }).start();
    startL3Maintenance(opened.store, {
      everyMs: 60_000,
      batch: 1_000,
      onError: (error: unknown) => log.warn("L3 maintenance failed; retried later", { error: String(error) }),
    });
  }
  const reporting = startCacheReporting({ cache, writeBehind, coherence, counters, instanceId }, redis);
  return { cache, origins, policy, writeBehind, coherence, counters, instanceId, reporting, l3: opened?.store };
}

// Built when the service starts, not on its first request: an instance that serves no traffic
// must still follow the coherence stream and take over queued writes of instances that died.
cacheRuntime().catch((error: Error) => {
  if (isServerMisconfiguration(error))
    log.error("cache-manager cannot run with this configuration: requests answer 503 until it is fixed", { error: error.message });
  else log.warn("cache runtime not ready yet; retrying on the next request", { error: String(error) });
});
