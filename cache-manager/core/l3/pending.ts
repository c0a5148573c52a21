/**
 * Invalidations that could not reach L3 when they were made, kept in Redis (a list, oldest first)
 * until L3 takes them. While the list is not empty no instance reads L3: a value it holds may be
 * one that an acknowledged invalidation removed everywhere else. Each instance replays the list
 * when L3 answers again (one at a time, under a Redis lock), oldest first, and reads resume once
 * it is empty.
 *
 * The rule for a long outage: past `maxEntries` waiting invalidations the list collapses into one
 * `all` (L3 is cleared when it comes back). Clearing a backup loses only its warmth; replaying an
 * unbounded list would hold Redis memory and delay reads from L3 for as long.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { L3Invalidation } from "./types";

export interface PendingInvalidationsOptions {
  redis: Redis;
  /** The list's key; default `cachet:l3:pending`. Its replay lock is `<key>:lock`. */
  key?: string;
  /** Waiting invalidations past which the list becomes one `all`; default 10 000. */
  maxEntries?: number;
}

/** Appends one entry, or collapses the list into one `all` once it is over the bound (atomic). */
const PUSH_SCRIPT = `
local n = redis.call('RPUSH', KEYS[1], ARGV[1])
if n > tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  redis.call('RPUSH', KEYS[1], ARGV[3])
  return 1
end
return n
`;

/**
 * Removes the head only if it is still the entry we applied: a collapse may have replaced the list
 * meanwhile, and its `all` must not be taken for ours (every entry carries its own id).
 */
const POP_IF_SCRIPT = `
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then return redis.call('LPOP', KEYS[1]) end
return false
`;

const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export class PendingInvalidations {
  private readonly redis: Redis;
  private readonly key: string;
  private readonly maxEntries: number;

  constructor(options: PendingInvalidationsOptions) {
    this.redis = options.redis;
    this.key = options.key ?? "cachet:l3:pending";
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** Records an invalidation L3 did not receive; resolves once Redis holds it. */
  async push(what: L3Invalidation): Promise<void> {
    const entry = (invalidation: L3Invalidation) => JSON.stringify({ id: randomUUID(), what: invalidation });
    await this.redis.eval(PUSH_SCRIPT, 1, this.key, entry(what), this.maxEntries, entry({ kind: "all" }));
  }

  /** How many invalidations wait for L3 (0: L3 may be read). */
  count(): Promise<number> {
    return this.redis.llen(this.key);
  }

  /**
   * Applies waiting invalidations oldest first with `apply` while this instance holds the replay
   * lock; stops at the first failure (the entry stays, the next replay retries it). Resolves to
   * how many were applied; 0 when another instance is replaying.
   */
  async replay(apply: (what: L3Invalidation) => Promise<void>, lockMs = 30_000): Promise<number> {
    const lock = `${this.key}:lock`;
    const token = `${process.pid}-${Math.random().toString(36).slice(2)}`;
    if ((await this.redis.set(lock, token, "PX", lockMs, "NX")) !== "OK") return 0;
    let applied = 0;
    try {
      for (;;) {
        const head = await this.redis.lindex(this.key, 0);
        if (head === null) return applied;
        await apply((JSON.parse(head) as { what: L3Invalidation }).what);
        await this.redis.eval(POP_IF_SCRIPT, 1, this.key, head);
        applied++;
        await this.redis.pexpire(lock, lockMs);
      }
    } finally {
      await this.redis.eval(RELEASE_SCRIPT, 1, lock, token).catch(() => undefined);
    }
  }
}
