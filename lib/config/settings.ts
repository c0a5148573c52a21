/**
 * Every setting of the platform, declared once: its name, the kind of value (with its unit and
 * range), the default, whether Encore holds it as a secret, which part reads it, and what it
 * means. `readConfig` parses and validates them all; the README's configuration table is
 * rendered from this list (`npm run docs:config`), so the two cannot drift.
 */
import { existsSync } from "node:fs";
import { parseTokenConfig } from "../auth/tokens";
import { parseKeyring } from "../l3-keyring";
import { DEFAULT_RATE } from "../ratelimit";
import { bytes, duration, flag, integer, number, oneOf, text, url, type Kind } from "./kinds";

/** Who reads a setting: the Node host itself, or a service (on either runtime). */
export type Reader = "host" | "cache-manager" | "invalidation" | "warming" | "monitoring";

export interface Setting<T> {
  kind: Kind<T>;
  /** The value when unset; a function derives it from settings declared before this one. */
  default?: T | ((values: Readonly<Record<string, unknown>>) => T);
  /** How the documentation writes the default, when it is not a plain value (`embedded`, `2 × CACHE_RATE_LIMIT`). */
  defaultText?: string;
  /** Under Encore, set with `encore secret set`; the Node host reads the environment variable. */
  secret?: boolean;
  readBy: readonly Reader[];
  meaning: string;
}

const declare = <T, const S extends Setting<T>>(setting: S & Setting<T>): S => setting;

function errorOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** `service=http://host:port,...` */
const serviceUrls: Kind<Record<string, string>> = {
  type: "list",
  accepts: "service=http://host:port pairs separated by commas",
  parse(value) {
    const urls: Record<string, string> = {};
    for (const pair of value
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [service, target] = pair.split(/=(.*)/s);
      if (!service || !target || !/^https?:\/\//.test(target.trim())) return { ok: false, reason: `"${pair}" is not service=http://host:port` };
      urls[service.trim()] = target.trim();
    }
    return { ok: true, value: urls };
  },
  format: (value) =>
    Object.entries(value)
      .map(([s, u]) => `${s}=${u}`)
      .join(","),
};

/**
 * The L1 policies and the L2 node syntax, as cache-manager's core accepts them (config.test.ts
 * checks they agree); written here so lib/ does not import a service's code.
 */
const L1_POLICIES = ["lru", "lfu", "w-tinylfu"] as const;
export function nodeListProblem(value: string): string | undefined {
  const bad = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .find((node) => !/^[^:\s]+:\d{1,5}$/.test(node));
  return bad === undefined ? undefined : `L2 node "${bad}" is not host:port`;
}

const HOST = ["host"] as const;
const CACHE = ["cache-manager"] as const;
const WARMING = ["warming"] as const;
const ALL_SERVICES = ["cache-manager", "invalidation", "warming", "monitoring"] as const;

export const SETTINGS = {
  // The process (Node host)
  PORT: declare({ kind: integer({ min: 0, max: 65535 }), default: 4000, readBy: HOST, meaning: "HTTP port (`npm start -- --port=N` too); 0 picks a free one" }),
  CACHET_SERVICES: declare({
    kind: text("service names separated by commas"),
    defaultText: "all",
    readBy: HOST,
    meaning:
      "the services this process serves (`--services=cache-manager` too); run several processes side by side (see [Run several instances](#run-several-instances))",
  }),
  REDIS_URL: declare({
    kind: url(["redis:", "rediss:"]),
    defaultText: "embedded",
    secret: true,
    readBy: ["host", ...ALL_SERVICES],
    meaning: "Redis for L2, Pub/Sub, locks, coherence and queues; unset → `npm start` runs `redis-server` with data in `.cachet/redis/`",
  }),
  DATABASE_URL: declare({
    kind: url(["postgres:", "postgresql:"]),
    defaultText: "embedded",
    readBy: HOST,
    meaning:
      "one PostgreSQL database holding every service: each Encore database is a schema in it (`CACHET_DATABASE_PREFIX` prefixes the schema names), created when missing, so the user needs `CREATE` on that database, not `CREATEDB`. Unset → `npm start` runs a PostgreSQL server over `.cachet/postgres/` (database `cachet`) when `initdb`/`postgres` are installed (`/usr/lib/postgresql/*/bin`, `POSTGRES_BIN_DIR`), else PGlite in `.cachet/pglite/`",
  }),
  CACHET_DATABASE_PREFIX: declare({
    kind: text("letters, digits and _", (v) => (/^[A-Za-z0-9_]*$/.test(v) ? undefined : "has characters other than letters, digits and _")),
    defaultText: "none",
    readBy: HOST,
    meaning: "prefix of the schema names created in `DATABASE_URL`, so deployments can share one database",
  }),
  CACHET_WORKERS: declare({
    kind: text("a whole number from 1 to 256, or auto", (v) =>
      v === "auto" || (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 256) ? undefined : "is neither a whole number from 1 to 256 nor auto",
    ),
    defaultText: "usable cores with `NODE_ENV=production` (the Docker image sets it), else 1",
    readBy: HOST,
    meaning:
      "host processes on one machine sharing the port (node:cluster); each is a full instance with its own L1, kept coherent by the coherence stream, and shows in `/api/instances`. A dead worker is restarted; SIGTERM drains them all. `auto` = one per core. Needs a PostgreSQL server (embedded or `DATABASE_URL`), not PGlite",
  }),
  CACHET_DATA_DIR: declare({
    kind: text("a directory"),
    defaultText: "`.cachet`",
    readBy: HOST,
    meaning: "where `npm start` keeps the embedded Redis and PostgreSQL data and the generated admin token",
  }),
  POSTGRES_BIN_DIR: declare({
    kind: text("a directory"),
    defaultText: "found under `/usr/lib/postgresql`",
    readBy: HOST,
    meaning: "PostgreSQL's server binaries (`initdb`, `postgres`) for the embedded server",
  }),
  CACHET_PGLITE_DIR: declare({
    kind: text("a directory, or memory://"),
    defaultText: "`.cachet/pglite`",
    readBy: HOST,
    meaning: "where the embedded PGlite keeps its data (`memory://`: nowhere)",
  }),
  CACHET_PGLITE_TEMPLATE: declare({
    kind: text("a file"),
    defaultText: "none",
    readBy: HOST,
    meaning:
      "a dump of an empty PGlite cluster that in-memory databases (`CACHET_PGLITE_DIR=memory://`) start from instead of running initdb, a few CPU seconds each; the test harness writes one per run",
  }),
  CACHET_PG_POOL_MAX: declare({ kind: integer({ min: 1, max: 1000 }), default: 10, readBy: HOST, meaning: "connections per database to `DATABASE_URL`" }),
  CACHE_ADMIN_TOKEN: declare({
    kind: text("a token"),
    defaultText: "generated",
    secret: true,
    readBy: ["host", "cache-manager"],
    meaning: "the bootstrap admin token; unset → `npm start` generates one, kept in `.cachet/admin-token`",
  }),
  CACHE_TOKENS: declare({
    kind: text('JSON `[{"name","role","token" or "sha256","namespaces"?}]` or `name:role[:ns1|ns2]=token,...`; roles viewer, operator, admin', (v) =>
      errorOf(() => parseTokenConfig(v)),
    ),
    defaultText: "none",
    secret: true,
    readBy: CACHE,
    meaning: "more tokens; roles `viewer` < `operator` < `admin`",
  }),
  CACHET_INTERNAL_SECRET: declare({
    kind: text("at least 16 characters", (v) => (v.length >= 16 ? undefined : `only ${v.length} characters`)),
    defaultText: "`.cachet/internal-secret`",
    readBy: HOST,
    meaning: "shared by the processes of one deployment; marks service-to-service calls",
  }),
  CACHET_SERVICE_URLS: declare({ kind: serviceUrls, defaultText: "none", readBy: HOST, meaning: "where the services that run in other processes are" }),
  CACHET_GATEWAY_URL: declare({
    kind: url(["http:", "https:"]),
    defaultText: "none",
    readBy: HOST,
    meaning: "fallback URL for every service not running in this process",
  }),
  CACHET_PUBLIC_URL: declare({
    kind: url(["http:", "https:"]),
    defaultText: "`http://localhost:PORT`",
    readBy: HOST,
    meaning: "the API's public base URL (`appMeta().apiBaseUrl`)",
  }),
  CACHET_KEY_PREFIX: declare({
    kind: text("text"),
    default: "cachet:",
    readBy: HOST,
    meaning: "prefix of the host's own Redis keys (Pub/Sub streams, cron locks, instance fingerprints)",
  }),
  CACHET_DEPLOYMENT_CHECK: declare({
    kind: oneOf(["refuse", "warn"] as const),
    default: "refuse",
    readBy: HOST,
    meaning: "a process whose databases or internal secret differ from another live process on the same Redis refuses to start (`warn`: logs it and starts)",
  }),
  CACHET_STREAM_MAX_MESSAGE_BYTES: declare({
    kind: integer({ min: 1 }),
    default: 64 * 1024,
    readBy: HOST,
    meaning: "largest WebSocket message a stream client may send; a larger one closes the stream",
  }),
  CACHET_STREAM_MAX_MESSAGES_PER_SECOND: declare({
    kind: integer({ min: 1 }),
    default: 100,
    readBy: HOST,
    meaning: "messages a stream client may send per second; more closes the stream",
  }),
  CACHET_STREAM_MAX_UNREAD_MESSAGES: declare({
    kind: integer({ min: 1 }),
    default: 64,
    readBy: HOST,
    meaning: "received messages a stream handler has not read yet, kept as bytes; more closes the stream",
  }),
  CACHET_STREAM_MAX_UNREAD_BYTES: declare({
    kind: integer({ min: 1 }),
    default: 1024 * 1024,
    readBy: HOST,
    meaning: "bytes of unread received messages per stream; more closes the stream",
  }),
  CACHET_STREAM_MAX_SEND_BUFFER_BYTES: declare({
    kind: integer({ min: 1 }),
    default: 4 * 1024 * 1024,
    readBy: HOST,
    meaning: "bytes waiting to be sent to a client that does not read; more disconnects it",
  }),
  CACHET_STREAM_MAX_SOCKETS: declare({
    kind: integer({ min: 1 }),
    default: 1000,
    readBy: HOST,
    meaning: "open streams per process; more are refused with 503",
  }),
  CACHET_PUBSUB_MAXLEN: declare({
    kind: integer({ min: 1 }),
    default: 100_000,
    readBy: HOST,
    meaning: "approximate bound on each Pub/Sub stream (Encore's message retention)",
  }),
  CACHET_DEPENDENCY_WAIT_MS: declare({
    kind: duration("ms", { min: 0, max: 600_000 }),
    default: 10_000,
    readBy: HOST,
    meaning: "how long a starting process waits for Redis and PostgreSQL before it exits naming the one it cannot reach",
  }),
  LOG_LEVEL: declare({ kind: oneOf(["trace", "debug", "info", "warn", "error"]), default: "info", readBy: HOST, meaning: "log threshold" }),
  LOG_FORMAT: declare({ kind: oneOf(["text", "json"]), default: "text", readBy: HOST, meaning: "`json`: one JSON object per log line" }),

  // cache-manager
  CACHE_L1_MAX_BYTES: declare({
    kind: bytes({ min: 1024 }),
    default: 64 * 2 ** 20,
    readBy: CACHE,
    meaning: "L1 bound in bytes (serialized size of the entries); an admin may change it at run time (Settings → Cache policy)",
  }),
  CACHE_L1_MAX_ENTRIES: declare({
    kind: integer({ min: 1, max: 2 ** 30 }),
    default: 100_000,
    readBy: CACHE,
    meaning: "L1 bound in entries; an admin may change it at run time (Settings → Cache policy)",
  }),
  CACHE_L1_POLICY: declare({
    kind: oneOf(L1_POLICIES),
    default: "w-tinylfu",
    readBy: CACHE,
    meaning: "L1 eviction policy; an admin may change it at run time (Settings → Cache policy)",
  }),
  CACHE_L2_MODE: declare({
    kind: oneOf(["single", "cluster", "ring"] as const),
    default: "single",
    readBy: CACHE,
    meaning:
      "L2 on `REDIS_URL` (single), a Redis Cluster, or a consistent-hash ring of independent nodes; `REDIS_URL` still holds the coherence stream, leases, queues and origins",
  }),
  CACHE_L2_NODES: declare({
    kind: text("host:port separated by commas", nodeListProblem),
    defaultText: "none",
    readBy: CACHE,
    meaning: "seed nodes (cluster) or ring nodes (ring); required by those modes",
  }),
  CACHE_L2_REPLICAS: declare({ kind: integer({ min: 1, max: 16 }), default: 2, readBy: CACHE, meaning: "ring mode: nodes holding each key" }),
  CACHE_L3_KEY: declare({
    kind: text("`id:key` pairs separated by commas, the current key first; a key is 32 random bytes in base64 (`openssl rand -base64 32`)", (v) =>
      errorOf(() => parseKeyring(v)),
    ),
    defaultText: "none (`npm start` on its embedded PostgreSQL: generated into `.cachet/l3-key`)",
    secret: true,
    readBy: CACHE,
    meaning:
      "L3 encryption keys (AES-256-GCM). New entries use the first; the others stay readable: to rotate, put a new key first and keep the old one until re-encryption has moved its entries. A key that does not decrypt what L3 holds stops the start",
  }),
  CACHE_L3: declare({
    kind: oneOf(["on", "off"] as const),
    default: (values) => (values.CACHE_L3_KEY === undefined ? "off" : "on"),
    defaultText: "`on` when `CACHE_L3_KEY` is set",
    readBy: CACHE,
    meaning: "the L3 backup tier (PostgreSQL database `l3`, compressed and encrypted) behind L2; `on` needs `CACHE_L3_KEY`",
  }),
  CACHE_L3_RETENTION_MS: declare({
    kind: duration("ms", { min: 60_000 }),
    default: 7 * 24 * 3_600_000,
    readBy: CACHE,
    meaning: "how long an L3 entry is kept after it was last written; expired entries are removed in the background",
  }),
  CACHE_DEFAULT_TTL_MS: declare({
    kind: duration("ms", { min: 1 }),
    default: 5 * 60_000,
    readBy: CACHE,
    meaning: "freshness of an entry written without `ttlSeconds`, unless its namespace has its own (Settings → Cache policy)",
  }),
  CACHE_GRACE_MS: declare({ kind: duration("ms", { min: 0 }), default: 60_000, readBy: CACHE, meaning: "stale-while-revalidate grace period after expiry" }),
  CACHE_SOFT_TIMEOUT_MS: declare({
    kind: duration("ms", { min: 1 }),
    default: 250,
    readBy: CACHE,
    meaning: "an origin load slower than this answers a stale value when there is one",
  }),
  CACHE_HARD_TIMEOUT_MS: declare({
    kind: duration("ms", { min: 1 }),
    default: 5_000,
    readBy: CACHE,
    meaning: "an origin load slower than this is aborted; above the soft timeout",
  }),
  CACHE_ORIGINS_FILE: declare({
    kind: text("the path of an existing file", (v) => (existsSync(v) ? undefined : "no such file")),
    defaultText: "demo origin",
    readBy: CACHE,
    meaning: 'JSON array of origins (`{namespace, kind: "sql" | "http", ...}`, see `cache-manager/core/origins/types.ts`)',
  }),
  CACHE_ORIGIN_ALLOW_NETWORKS: declare({
    kind: text("addresses or CIDRs separated by commas"),
    defaultText: "none",
    readBy: CACHE,
    meaning: "internal networks HTTP origins may reach; loopback, link-local, private, CGNAT, multicast and ULA addresses are refused otherwise (SECURITY.md)",
  }),
  CACHE_DEMO_LATENCY_MS: declare({
    kind: duration("ms", { min: 0, max: 60_000 }),
    default: 50,
    readBy: CACHE,
    meaning: "added latency of the demo `product:` origin",
  }),
  CACHE_COHERENCE_MAX_OUTAGE_MS: declare({
    kind: duration("ms", { min: 1 }),
    default: 30_000,
    readBy: CACHE,
    meaning: "once the coherence stream has been unread this long, reads skip L1 (level `skip-l1`) until it is read again; reconnecting after that clears L1",
  }),
  CACHE_WRITE_BEHIND_CLAIM_IDLE_MS: declare({
    kind: duration("ms", { min: 1 }),
    default: 30_000,
    readBy: CACHE,
    meaning: "queued writes of a dead instance are taken over after this long",
  }),
  CACHE_WRITE_BEHIND_CONCURRENCY: declare({
    kind: integer({ min: 1, max: 1000 }),
    default: 8,
    readBy: CACHE,
    meaning: "write-behind origin writes in flight per instance",
  }),
  CACHE_RATE_LIMIT: declare({
    kind: number({ min: 0 }),
    default: DEFAULT_RATE,
    readBy: CACHE,
    meaning: "requests per second per token, across all instances; 0 turns limiting off",
  }),
  CACHE_RATE_LIMIT_BURST: declare({
    kind: integer({ min: 1 }),
    default: (values) => Math.max(1, Math.ceil((values.CACHE_RATE_LIMIT as number) * 2)),
    defaultText: "2 × `CACHE_RATE_LIMIT`",
    readBy: CACHE,
    meaning: "requests a token may send at once above its rate",
  }),
  CACHE_RATE_LIMIT_TIMEOUT_MS: declare({
    kind: duration("ms", { min: 1 }),
    default: 100,
    readBy: CACHE,
    meaning: "a rate-limit check Redis does not answer in this time lets the request through",
  }),

  // invalidation
  INVALIDATION_REDRIVE_AFTER_MS: declare({
    kind: duration("ms", { min: 1_000 }),
    default: 10 * 60_000,
    readBy: ["invalidation"],
    meaning: "a request still `pending` this long (its event dead-lettered, say) is published again by a cron job",
  }),
  AUDIT_VERIFY_CACHE_MS: declare({
    kind: duration("ms", { min: 0 }),
    default: 30_000,
    readBy: ["invalidation"],
    meaning: "one audit-chain walk answers `GET /api/audit/verify` for this long (0: every call walks the chain)",
  }),
  INVALIDATION_CONFIRM_THRESHOLD: declare({
    kind: integer({ min: 1 }),
    default: 10_000,
    readBy: ["invalidation"],
    meaning: "a pattern matching more keys needs `confirm: true` and the admin role",
  }),

  // warming
  WARMING_MAX_RUNNING: declare({ kind: integer({ min: 1, max: 1000 }), default: 4, readBy: WARMING, meaning: "warming runs in flight across every instance" }),
  WARMING_LOCAL_SLOTS: declare({
    kind: integer({ min: 1, max: 1000 }),
    default: (values) => values.WARMING_MAX_RUNNING as number,
    defaultText: "`WARMING_MAX_RUNNING`",
    readBy: WARMING,
    meaning: "warming runs in flight in one instance",
  }),
  WARMING_LEASE_MS: declare({
    kind: duration("ms", { min: 100 }),
    default: 30_000,
    readBy: WARMING,
    meaning: "a run whose worker has not renewed its lease for this long is failed",
  }),
  WARMING_HEARTBEAT_MS: declare({
    kind: duration("ms", { min: 10 }),
    default: (values) => Math.floor((values.WARMING_LEASE_MS as number) / 3),
    defaultText: "`WARMING_LEASE_MS` ÷ 3",
    readBy: WARMING,
    meaning: "how often a worker renews its run's lease during slow batches; below the lease",
  }),
  WARMING_POLL_MS: declare({
    kind: duration("ms", { min: 10 }),
    default: 1_000,
    readBy: WARMING,
    meaning: "how often every instance polls the queue and checks for dead workers",
  }),
  WARMING_BATCH_RETRIES: declare({
    kind: integer({ min: 0, max: 100 }),
    default: 2,
    readBy: WARMING,
    meaning: "retries of a failed batch before it counts as failed",
  }),
  WARMING_RETRY_DELAY_MS: declare({
    kind: duration("ms", { min: 0 }),
    default: 200,
    readBy: WARMING,
    meaning: "first wait before a failed batch is retried (doubles each retry)",
  }),

  // monitoring
  METRICS_TOKEN: declare({
    kind: text("a token"),
    defaultText: "none (open)",
    secret: true,
    readBy: ["monitoring"],
    meaning: "bearer token `/metrics` requires; unset leaves it open to scrapers",
  }),
  CACHET_ALERT_WINDOW_SECONDS: declare({
    kind: duration("s", { min: 1, max: 3600 }),
    default: 60,
    readBy: ["monitoring"],
    meaning: "the window alert rules look at",
  }),
  CACHET_MONITOR_DISABLED: declare({
    kind: flag(),
    default: false,
    readBy: ["monitoring"],
    meaning: "1: do not collect metrics or evaluate alerts in this process (tests)",
  }),
};

export type SettingName = keyof typeof SETTINGS;

type ValueOf<S> = S extends { kind: Kind<infer T> } ? ("default" extends keyof S ? T : T | undefined) : never;

/** Every setting's parsed value; settings without a default are `undefined` when unset. */
export type Config = { readonly [K in SettingName]: ValueOf<(typeof SETTINGS)[K]> };

/**
 * Rules that involve several settings; each returns the problem, naming the variables, or
 * nothing.
 */
export const CROSS_CHECKS: ReadonlyArray<(config: Config) => string | undefined> = [
  (c) =>
    c.CACHE_SOFT_TIMEOUT_MS >= c.CACHE_HARD_TIMEOUT_MS
      ? `CACHE_SOFT_TIMEOUT_MS=${c.CACHE_SOFT_TIMEOUT_MS} must be below CACHE_HARD_TIMEOUT_MS=${c.CACHE_HARD_TIMEOUT_MS}`
      : undefined,
  (c) => (c.CACHE_L2_MODE !== "single" && !c.CACHE_L2_NODES ? `CACHE_L2_MODE=${c.CACHE_L2_MODE} needs CACHE_L2_NODES (host:port,host:port,...)` : undefined),
  (c) => (c.CACHE_L3 === "on" && !c.CACHE_L3_KEY ? "CACHE_L3=on needs CACHE_L3_KEY (`id:key`, a key being 32 random bytes in base64)" : undefined),
  (c) =>
    c.WARMING_HEARTBEAT_MS >= c.WARMING_LEASE_MS
      ? `WARMING_HEARTBEAT_MS=${c.WARMING_HEARTBEAT_MS} must be below WARMING_LEASE_MS=${c.WARMING_LEASE_MS}`
      : undefined,
];
