import { createHash } from "node:crypto";
import { Redis, type Cluster, type RedisOptions } from "ioredis";

/**
 * Opens an ioredis connection with the project's defaults: commands fail fast while the
 * connection is down (callers have breakers and retries of their own), reconnects back off up
 * to 2 s, and the connection never keeps the process alive on its own.
 */
export function connectRedis(url: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    connectTimeout: 5000,
    lazyConnect: false,
    ...options,
  });
  // Commands fail with the connection's error anyway; without a listener ioredis prints every
  // reconnection attempt as an "unhandled error event".
  redis.on("error", () => undefined);
  return redis;
}

/**
 * Resolves true once `redis` is ready, or false after `timeoutMs` (the connection keeps trying):
 * for code that should not start on a connection still being opened.
 */
export function waitReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === "ready") return Promise.resolve(true);
  return new Promise((resolve) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      redis.off("ready", onReady);
      resolve(false);
    }, timeoutMs);
    timer.unref();
    redis.once("ready", onReady);
  });
}

/**
 * The cache's own connection (L2, leases, queue): fail fast while Redis is unreachable (no offline
 * queue), so the breaker and L1 take over instead of requests hanging until reconnection.
 * (Auto-pipelining was tried: no measurable gain on L2 hits, which already share one MGET.)
 */
export const CACHE_CONNECTION: RedisOptions = { enableOfflineQueue: false };

const shared = new Map<string, Redis>();

/**
 * One command connection per URL for the whole process (ioredis pipelines concurrent commands
 * over it). Blocking commands (XREAD BLOCK, BLPOP) need a connection of their own.
 */
export function sharedRedis(url: string): Redis {
  let redis = shared.get(url);
  if (!redis || redis.status === "end") {
    redis = connectRedis(url);
    shared.set(url, redis);
  }
  return redis;
}

/** Closes the shared connections (graceful shutdown, tests). */
export async function closeSharedRedis(): Promise<void> {
  const all = [...shared.values()];
  shared.clear();
  await Promise.all(all.map((r) => r.quit().catch(() => r.disconnect())));
}

export type ScriptArg = string | number | Buffer;

const scriptShas = new Map<string, string>();

/** The SHA1 Redis knows a script by (computed once per script text). */
export function scriptSha(script: string): string {
  let sha = scriptShas.get(script);
  if (!sha) {
    sha = createHash("sha1").update(script).digest("hex");
    scriptShas.set(script, sha);
  }
  return sha;
}

/** True for the error of an EVALSHA whose script the server does not hold. */
export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT");
}

/**
 * Runs a Lua script by its SHA1 (EVALSHA), loading it with EVAL when the server does not hold it
 * (a new server, a restart, a failover, SCRIPT FLUSH): the script text travels only then.
 *
 * @example
 * await runScript(redis, `return redis.call('INCRBY', KEYS[1], ARGV[1])`, ["counter"], [5]);
 */
export function runScript(redis: Redis | Cluster, script: string, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
  return evalCached((command, commandArgs) => redis.call(command, commandArgs), script, keys, args);
}

/** `runScript` with the reply's bulk strings as Buffers (for values that need not be UTF-8). */
export function runScriptBuffers(redis: Redis | Cluster, script: string, keys: readonly string[], args: readonly ScriptArg[]): Promise<unknown> {
  return evalCached((command, commandArgs) => redis.callBuffer(command, commandArgs), script, keys, args);
}

/**
 * EVALSHA, then EVAL on NOSCRIPT. A NOSCRIPT reply means the script did not run at all, so
 * running it again with EVAL cannot apply it twice.
 */
async function evalCached(
  send: (command: "evalsha" | "eval", args: ScriptArg[]) => Promise<unknown>,
  script: string,
  keys: readonly string[],
  args: readonly ScriptArg[],
): Promise<unknown> {
  try {
    return await send("evalsha", [scriptSha(script), keys.length, ...keys, ...args]);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return send("eval", [script, keys.length, ...keys, ...args]);
  }
}
