/**
 * A Redis hash shared by every instance and guarded by a version counter: the storage of the
 * registries that every instance must agree on (origins, cache policy). A change is a
 * compare-and-set against the version the writer read, retried when another instance got there
 * first (`change`), or an atomic get-and-set of one field (`swap`); readers poll the counter (one
 * GET) and re-read the hash only when it moved.
 *
 * Redis keys (one hash slot, so it works on Redis Cluster), for the prefix `cachet:origins`:
 * - `{cachet:origins}`          the hash
 * - `{cachet:origins}:version`  integer, incremented by every change
 *
 * @example
 * const hash = new VersionedHash(redis, "cachet:policy", (message) => new PolicyConflictError(message));
 * const { before, version } = await hash.swap("l1", JSON.stringify(l1));
 * const { snapshot } = await hash.change((current) => (current.fields.x ? undefined : { set: { x: "1" } }), "x");
 */
import type { Redis } from "ioredis";

const MAX_CAS_ATTEMPTS = 8;

/**
 * Compare-and-set: apply the change only if the version is still the one the caller read.
 * ARGV: version, number of fields to set, then field/value pairs, then the fields to delete.
 */
const CAS_SCRIPT = `
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if current ~= tonumber(ARGV[1]) then return -1 end
local sets = tonumber(ARGV[2])
for i = 3, 2 + sets * 2, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
for i = 3 + sets * 2, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
return redis.call('INCR', KEYS[2])
`;

/**
 * Get-and-set of one field (ARGV[1]; ARGV[2] the new value, absent: delete): returns the old value
 * (false when none) and the version after (unchanged when a delete found nothing).
 */
const SWAP_SCRIPT = `
local before = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
elseif before then redis.call('HDEL', KEYS[1], ARGV[1])
else return {before, tonumber(redis.call('GET', KEYS[2]) or '0')} end
return {before, redis.call('INCR', KEYS[2])}
`;

export interface HashSnapshot {
  version: number;
  fields: Record<string, string>;
}

/** Fields to write and fields to delete, applied atomically. */
export interface HashChange {
  set?: Record<string, string>;
  remove?: string[];
}

export class VersionedHash {
  readonly hashKey: string;
  readonly versionKey: string;

  /**
   * @param prefix wrapped in a `{hash tag}` unless it has one
   * @param conflict builds the caller's typed error for a change that kept losing the race (or an aborted read)
   */
  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly conflict: (message: string) => Error,
  ) {
    const tagged = /\{[^}]+\}/.test(prefix) ? prefix : `{${prefix}}`;
    this.hashKey = tagged;
    this.versionKey = `${tagged}:version`;
  }

  /** The current version: one GET, cheap enough to poll. */
  async version(): Promise<number> {
    return Number((await this.redis.get(this.versionKey)) ?? 0);
  }

  /** The state when its version is no longer `known` (always with `force`), else undefined: one GET when nothing changed. */
  async readIfChanged(known: number, force = false): Promise<HashSnapshot | undefined> {
    if (!force && (await this.version()) === known) return undefined;
    return this.snapshot();
  }

  /** Runs `refresh` every `intervalMs` (the timer does not keep the process alive); returns a function that stops it. */
  static poll(intervalMs: number, refresh: () => Promise<unknown>, onError: (error: Error) => void): () => void {
    const timer = setInterval(() => void refresh().catch(onError), intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** The version and the hash, read in one transaction so they agree. */
  async snapshot(): Promise<HashSnapshot> {
    const replies = await this.redis.multi().get(this.versionKey).hgetall(this.hashKey).exec();
    if (!replies) throw this.conflict("the shared state read was aborted: retry");
    for (const [error] of replies) if (error) throw error;
    return { version: Number(replies[0][1] ?? 0), fields: (replies[1][1] ?? {}) as Record<string, string> };
  }

  /**
   * Writes one field (or deletes it, with `value` null) whatever it held, atomically and without
   * retries; returns what it held and the version after. For changes that do not depend on the
   * rest of the hash; `change` is for those that do.
   */
  async swap(field: string, value: string | null): Promise<{ before: string | undefined; version: number }> {
    const args = value === null ? [field] : [field, value];
    const [before, version] = (await this.redis.eval(SWAP_SCRIPT, 2, this.hashKey, this.versionKey, ...args)) as [string | null, number];
    return { before: before ?? undefined, version: Number(version) };
  }

  /**
   * Reads the hash, asks `plan` what to change (undefined: nothing), and compare-and-sets it,
   * re-reading and re-planning when another instance changed the hash meanwhile. Returns the
   * state after the change (or as read, when `plan` declined). `plan` may throw to refuse.
   */
  async change(plan: (current: HashSnapshot) => HashChange | undefined, what: string): Promise<{ snapshot: HashSnapshot; changed: boolean }> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await this.snapshot();
      const change = plan(current);
      if (!change) return { snapshot: current, changed: false };
      const sets = Object.entries(change.set ?? {});
      const removes = change.remove ?? [];
      const args = [current.version, sets.length, ...sets.flat(), ...removes];
      const next = Number(await this.redis.eval(CAS_SCRIPT, 2, this.hashKey, this.versionKey, ...args));
      if (next >= 0) {
        const fields = { ...current.fields, ...change.set };
        for (const field of removes) delete fields[field];
        return { snapshot: { version: next, fields }, changed: true };
      }
    }
    throw this.conflict(`the shared state changed ${MAX_CAS_ATTEMPTS} times while changing ${what}: retry`);
  }
}
