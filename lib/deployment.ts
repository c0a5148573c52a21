/**
 * Detects deployments that cannot work: processes that share a Redis share its Pub/Sub
 * subscriptions, write-behind queue, leases and cache keys, so they must also share the
 * databases (an invalidation's outcome is recorded by whichever process takes the message) and
 * the internal secret (service-to-service calls). Each process writes a fingerprint of both in
 * Redis (the secret only as a short hash) under a key that expires unless renewed; a process
 * whose fingerprint differs from a live one's is refused, naming the other process.
 */
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import type { Redis } from "ioredis";
import { CodedError } from "./errors";

export class DeploymentConflictError extends CodedError {
  static override code = "E_CONFIG";
}

/** What a process publishes about itself. */
export interface InstanceFingerprint {
  instance: string;
  machine: string;
  pid: number;
  services: string[];
  url: string;
  startedAt: string;
  /** Where its databases are (`postgres://host:port/name prefix=…`, `pglite:machine:/dir`); null when it runs none. */
  databases: string | null;
  /** The first 16 hex digits of sha256 over the internal secret. */
  secret: string;
}

export interface ClaimOptions {
  redis: Redis;
  /** The host's key prefix (CACHET_KEY_PREFIX). */
  keyPrefix: string;
  self: Omit<InstanceFingerprint, "secret" | "machine" | "pid" | "startedAt"> & { internalSecret: string };
  /** `refuse` throws on a conflict; `warn` reports it through `warn` and goes on. */
  mode: "refuse" | "warn";
  warn: (message: string) => void;
  /** The Redis address for messages. */
  redisLabel: string;
  ttlMs?: number;
}

export const secretFingerprint = (secret: string) => createHash("sha256").update(`cachet-internal-secret\n${secret}`).digest("hex").slice(0, 16);

/** The databases' identity for a fingerprint: the server and name prefix, or the embedded directory. */
export function databaseIdentity(options: { databaseUrl?: string; databasePrefix?: string; pgliteDir: string; instance: string }): string {
  if (options.databaseUrl) {
    const url = new URL(options.databaseUrl);
    return `postgres://${url.hostname}:${url.port || 5432}${url.pathname} prefix=${options.databasePrefix ?? ""}`;
  }
  if (options.pgliteDir === "memory://") return `pglite:memory (instance ${options.instance})`;
  return `pglite:${hostname()}:${options.pgliteDir}`;
}

function describe(other: InstanceFingerprint): string {
  return `instance ${other.instance} (pid ${other.pid} on ${other.machine}, ${other.url}, services ${other.services.join(",")}, started ${other.startedAt})`;
}

/** The ways `self` and `other` disagree, as sentences; empty when they can share a Redis. */
export function conflicts(self: InstanceFingerprint, other: InstanceFingerprint): string[] {
  const found: string[] = [];
  if (self.databases && other.databases && self.databases !== other.databases) {
    found.push(`its databases are ${other.databases}, this one's ${self.databases} (set the same DATABASE_URL and CACHET_DATABASE_PREFIX)`);
  }
  if (self.secret !== other.secret) found.push("its CACHET_INTERNAL_SECRET differs (set the same on every process)");
  return found;
}

/**
 * Compares this process with the live ones sharing its Redis, then publishes its fingerprint and
 * renews it until `release()`. Throws DeploymentConflictError (mode `refuse`) naming the first
 * conflicting process.
 */
export async function claimDeployment(options: ClaimOptions): Promise<{ release(): Promise<void> }> {
  const ttlMs = options.ttlMs ?? 30_000;
  const { internalSecret, ...rest } = options.self;
  const self: InstanceFingerprint = {
    ...rest,
    secret: secretFingerprint(internalSecret),
    machine: hostname(),
    pid: process.pid,
    startedAt: new Date().toISOString(),
  };
  const pattern = `${options.keyPrefix}instance:`;
  const others = await liveInstances(options.redis, pattern);
  const conflicting = others.filter((other) => other.instance !== self.instance && conflicts(self, other).length > 0);
  if (conflicting.length) {
    const [first] = conflicting;
    const more = conflicting.length > 1 ? ` (and ${conflicting.length - 1} more)` : "";
    const message =
      `this process cannot share Redis at ${options.redisLabel} with ${describe(first)}${more}: ${conflicts(self, first).join("; ")}. ` +
      "Processes that share a Redis share its Pub/Sub subscriptions, write-behind queue and cache keys; give this one its own Redis or the same settings.";
    if (options.mode === "refuse") throw new DeploymentConflictError(message);
    options.warn(message);
  }
  const key = `${pattern}${self.instance}`;
  const publish = () => options.redis.set(key, JSON.stringify(self), "PX", ttlMs);
  await publish();
  const timer = setInterval(() => void publish().catch(() => undefined), Math.floor(ttlMs / 3));
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      await options.redis.del(key).catch(() => undefined);
    },
  };
}

/** The fingerprints of live processes (bounded: at most 10,000 keys are looked at). */
async function liveInstances(redis: Redis, pattern: string): Promise<InstanceFingerprint[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${pattern}*`, "COUNT", 500);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0" && keys.length < 10_000);
  if (keys.length === 0) return [];
  const values = await redis.mget(...keys);
  return values.flatMap((v) => {
    try {
      return v ? [JSON.parse(v) as InstanceFingerprint] : [];
    } catch {
      return [];
    }
  });
}
