/**
 * The L1 tier: an in-process cache bounded by entries and by bytes, with per-entry TTLs and a
 * configurable eviction policy (`lru`, `lfu`, `w-tinylfu`).
 *
 * - Bounds: both are required, like lru-cache refuses a cache without `max`. `sizeBytes` is the
 *   caller's figure (the serialized length it read from L2, or `estimateByteSize`). An entry
 *   larger than `maxBytes` is refused instead of flushing the whole cache for it.
 * - TTL: absolute expiry on an injected clock. Expired entries count as misses, are reclaimed when
 *   touched, and a sweep examines a bounded number of slots on every write (`sweepPerWrite`) or
 *   when called (`sweepExpired`), so memory held by expired entries is returned without a timer.
 * - Hot path: `get` is a `Map` lookup, an expiry check only while some entry has a TTL (with a
 *   clock read only for entries that have one), and an O(1) policy update over typed arrays;
 *   neither `get` nor `set` allocates. There is deliberately no per-entry hit counter: it cost
 *   about 10% of `get` throughput (LFU and W-TinyLFU report frequencies through `info`).
 * - Policy trade-off: W-TinyLFU (the default) has the best hit ratio; its hits cost about twice
 *   an LRU hit (a sketch increment and segment moves), which is small next to an L2 round trip.
 * - Events: `onEvict` listeners hear every entry that leaves (`capacity`, `expired`, `deleted`,
 *   `replaced`); they must not call back into the cache. A listener that throws does not corrupt
 *   the cache: the operation completes and then rethrows the first error.
 *
 * @example
 * const l1 = new L1Cache<string>({ maxEntries: 10_000, maxBytes: 64 * 1024 * 1024 });
 * l1.set("user:1", raw, { sizeBytes: utf8Length(raw), ttlMs: 30_000 });
 * l1.get("user:1"); // raw, until 30 s have passed on the cache's clock
 */
import { EntryTable } from "./entries";
import { createPolicy, type EvictionPolicy, type PolicyName, POLICY_NAMES } from "./policies";
import {
  L1ArgumentError,
  type EvictionReason,
  type L1Bounds,
  type EvictListener,
  type L1CacheOptions,
  type L1EntryInfo,
  type L1ScanPage,
  type L1SetOptions,
  type L1Stats,
} from "./types";

const MAX_ENTRIES_LIMIT = 2 ** 30;
const DEFAULT_SWEEP_PER_WRITE = 8;
const DEFAULT_SEED = 0x2545f491;

function requireInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new L1ArgumentError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function requireTtl(ttlMs: number): void {
  if (typeof ttlMs !== "number" || !(ttlMs > 0) || ttlMs === Infinity) {
    throw new L1ArgumentError(`ttlMs must be a positive finite number of milliseconds, got ${String(ttlMs)}; omit it for no expiry`);
  }
}

function defaultNow(): number {
  return performance.now();
}

function requirePolicyName(policy: unknown): PolicyName {
  if (!POLICY_NAMES.includes(policy as PolicyName)) throw new L1ArgumentError(`policy must be one of ${POLICY_NAMES.join(", ")}, got ${String(policy)}`);
  return policy as PolicyName;
}

export class L1Cache<V = unknown> {
  private entryBound: number;
  private byteBound: number;
  private currentPolicyName: PolicyName;
  private readonly index = new Map<string, number>();
  private readonly table: EntryTable<V>;
  private policy: EvictionPolicy;
  private readonly seed: number;
  private readonly now: () => number;
  private readonly sweepPerWrite: number;
  private listeners: EvictListener<V>[] = [];
  private bytes = 0;
  /** Entries that have a TTL; the sweep is skipped while there are none. */
  private expiring = 0;
  private sweepCursor = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  private expirations = 0;
  private rejections = 0;
  private listenerFailed = false;
  private listenerError: unknown = undefined;

  constructor(options: L1CacheOptions<V>) {
    if (options === null || typeof options !== "object") throw new L1ArgumentError("L1Cache needs options with maxEntries and maxBytes");
    this.entryBound = requireInteger("maxEntries", options.maxEntries, 1, MAX_ENTRIES_LIMIT);
    this.byteBound = requireInteger("maxBytes", options.maxBytes, 1, Number.MAX_SAFE_INTEGER);
    this.currentPolicyName = requirePolicyName(options.policy ?? "w-tinylfu");
    this.now = options.now ?? defaultNow;
    this.sweepPerWrite = requireInteger("sweepPerWrite", options.sweepPerWrite ?? DEFAULT_SWEEP_PER_WRITE, 0, MAX_ENTRIES_LIMIT);
    if (options.onEvict) this.listeners.push(options.onEvict);
    // One spare slot: a new entry is inserted before the policy picks what it displaces.
    this.table = new EntryTable<V>(this.maxEntries + 1);
    this.seed = options.seed ?? DEFAULT_SEED;
    this.policy = this.buildPolicy();
  }

  /** Most entries held at once (changed by `reconfigure`). */
  get maxEntries(): number {
    return this.entryBound;
  }

  /** Most bytes held at once (changed by `reconfigure`). */
  get maxBytes(): number {
    return this.byteBound;
  }

  /** The eviction policy in use (changed by `reconfigure`). */
  get policyName(): PolicyName {
    return this.currentPolicyName;
  }

  /**
   * Changes the policy and bounds in place, keeping the entries held: what no longer fits the new
   * bounds is evicted (reason `capacity`) by the current policy, then the rest is handed to the
   * new policy in the current one's eviction order, so its first victims are the old one's. The
   * new policy starts its own history (LFU counts, the W-TinyLFU sketch): only the order carries
   * over. Values, sizes, TTLs, tags and slots do not change, so a `scan` in progress goes on.
   * Validates everything before changing anything; returns how many entries it evicted.
   *
   * @example
   * l1.reconfigure({ policy: "lru", maxBytes: 16 * 1024 * 1024 }); // halves the bytes, keeps the rest
   */
  reconfigure(bounds: Partial<L1Bounds>): number {
    if (bounds === null || typeof bounds !== "object") throw new L1ArgumentError("reconfigure needs { policy?, maxEntries?, maxBytes? }");
    const policy = requirePolicyName(bounds.policy ?? this.currentPolicyName);
    const maxEntries = requireInteger("maxEntries", bounds.maxEntries ?? this.entryBound, 1, MAX_ENTRIES_LIMIT);
    const maxBytes = requireInteger("maxBytes", bounds.maxBytes ?? this.byteBound, 1, Number.MAX_SAFE_INTEGER);
    const evictionsBefore = this.evictions;
    this.entryBound = maxEntries;
    this.byteBound = maxBytes;
    this.table.maxCapacity = maxEntries + 1;
    this.evictWhileOverBounds();
    const order: number[] = [];
    this.policy.forEachInEvictionOrder((slot) => order.push(slot));
    this.currentPolicyName = policy;
    this.policy = this.buildPolicy();
    for (const slot of order) this.policy.onInsert(slot, this.table.keys[slot] as string);
    this.rethrowListenerError();
    return this.evictions - evictionsBefore;
  }

  /** Number of entries held, expired ones not yet reclaimed included. */
  get size(): number {
    return this.index.size;
  }

  /** The value, or `undefined` on a miss or an expired entry. Counts a hit or a miss and informs the policy. */
  get(key: string): V | undefined {
    const slot = this.index.get(key);
    if (slot === undefined) {
      this.misses++;
      return undefined;
    }
    const table = this.table;
    // Skipping the expiry array while no entry has a TTL saves a memory access per hit.
    if (this.expiring !== 0) {
      const expiresAt = table.expiresAt[slot];
      if (expiresAt !== Infinity && expiresAt <= this.now()) {
        this.misses++;
        this.removeSlot(slot, "expired");
        this.rethrowListenerError();
        return undefined;
      }
    }
    this.hits++;
    this.policy.onAccess(slot);
    return table.values[slot];
  }

  /** Like `get` without counting or informing the policy (an expired entry is still reclaimed). */
  peek(key: string): V | undefined {
    const slot = this.liveSlot(key);
    return slot === undefined ? undefined : this.table.values[slot];
  }

  /**
   * `get` for a caller that takes the value only when `accept(value)` holds (a read that serves
   * fresh values only): one lookup and one clock read where `peek` then `get` take two of each.
   * An accepted value counts as a hit and informs the policy, as `get` does; a refused one counts
   * nothing and stays (the caller goes on with `get`, which counts); an expired one is reclaimed,
   * uncounted, as `peek` does.
   */
  getIf(key: string, accept: (value: V) => boolean): V | undefined {
    const value = this.takeIf(key, accept, undefined);
    this.rethrowListenerError();
    return value;
  }

  /**
   * `getIf` for each of `keys` at one instant (the clock read once for the lot): the accepted
   * values, aligned with `keys`, `undefined` for the rest.
   */
  getEachIf(keys: readonly string[], accept: (value: V) => boolean): (V | undefined)[] {
    const now = this.expiring !== 0 ? this.now() : undefined;
    const values = new Array<V | undefined>(keys.length);
    for (let i = 0; i < keys.length; i++) values[i] = this.takeIf(keys[i], accept, now);
    this.rethrowListenerError();
    return values;
  }

  /** Whether a live entry exists, without counting or informing the policy. */
  has(key: string): boolean {
    return this.liveSlot(key) !== undefined;
  }

  /**
   * Stores or replaces a value. Returns whether the entry is in the cache afterwards: `false` when
   * it is larger than `maxBytes` (a previous value under the key is removed too, as it is stale),
   * or when W-TinyLFU admission preferred the entries already cached.
   */
  set(key: string, value: V, options: L1SetOptions): boolean {
    const sizeBytes = options.sizeBytes;
    const ttlMs = options.ttlMs;
    if (typeof sizeBytes !== "number" || !Number.isSafeInteger(sizeBytes) || sizeBytes < 0) {
      throw new L1ArgumentError(`sizeBytes must be a non-negative integer, got ${String(sizeBytes)}`);
    }
    if (ttlMs !== undefined) requireTtl(ttlMs);
    let slot = this.index.get(key);
    // The clock is read only when a TTL is involved (NaN compares false with everything).
    const now = ttlMs !== undefined || (slot !== undefined && this.table.expiresAt[slot] !== Infinity) ? this.now() : NaN;
    if (slot !== undefined && this.table.expiresAt[slot] <= now) {
      this.removeSlot(slot, "expired");
      slot = undefined;
    }
    if (sizeBytes > this.byteBound) {
      this.rejections++;
      if (slot !== undefined) this.removeSlot(slot, "replaced");
      this.rethrowListenerError();
      return false;
    }
    const expiresAt = ttlMs === undefined ? Infinity : now + ttlMs;
    slot =
      slot === undefined ? this.insert(key, value, sizeBytes, expiresAt, options.tags) : this.replace(slot, key, value, sizeBytes, expiresAt, options.tags);
    this.evictWhileOverBounds();
    if (this.expiring > 0 && this.sweepPerWrite > 0) this.sweep(this.sweepPerWrite, Number.isNaN(now) ? this.now() : now);
    const admitted = this.table.keys[slot] === key;
    if (!admitted) this.rejections++;
    this.rethrowListenerError();
    return admitted;
  }

  /** Removes the entry; returns whether a live one was there. */
  delete(key: string): boolean {
    const slot = this.liveSlot(key);
    if (slot !== undefined) this.removeSlot(slot, "deleted");
    this.rethrowListenerError();
    return slot !== undefined;
  }

  /** Removes every entry (each reported as `deleted`); statistics counters keep counting. */
  clear(): void {
    const table = this.table;
    const removed: { key: string; value: V; size: number }[] = [];
    if (this.listeners.length > 0) {
      for (let slot = 0; slot < table.highWater; slot++) {
        const key = table.keys[slot];
        if (key !== undefined) removed.push({ key, value: table.values[slot] as V, size: table.sizes[slot] });
      }
    }
    this.index.clear();
    this.policy.clear();
    table.clear();
    this.bytes = 0;
    this.expiring = 0;
    this.sweepCursor = 0;
    for (const entry of removed) this.emit(entry.key, "deleted", entry.value, entry.size);
    this.rethrowListenerError();
  }

  /** Size, remaining TTL, tags, hits and policy standing of a live entry; does not count as an access. */
  info(key: string): L1EntryInfo | undefined {
    const slot = this.liveSlot(key);
    if (slot === undefined) return undefined;
    const table = this.table;
    const expiresAt = table.expiresAt[slot];
    return {
      sizeBytes: table.sizes[slot],
      ttlRemainingMs: expiresAt === Infinity ? null : expiresAt - this.now(),
      tags: table.tags[slot] ?? [],
      policy: this.policy.describe(slot),
    };
  }

  stats(): L1Stats {
    return {
      entries: this.index.size,
      bytes: this.bytes,
      maxEntries: this.maxEntries,
      maxBytes: this.maxBytes,
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      expirations: this.expirations,
      rejections: this.rejections,
      policy: this.policyName,
    };
  }

  /**
   * Subscribes to entries leaving the cache; returns the unsubscribe function. Listeners run
   * synchronously after the cache is consistent and must not call back into it.
   */
  onEvict(listener: EvictListener<V>): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((existing) => existing !== listener);
    };
  }

  /**
   * Examines up to `count` slots from `cursor` (start with 0) and returns the live keys found
   * there that pass `match`, with the cursor to continue from (0 when done). The work per call is
   * bounded by `count`, like Redis `SCAN`. Entries never move between slots, so a key present for
   * the whole scan is returned exactly once; keys added or removed meanwhile may or may not be.
   *
   * @example
   * let cursor = 0;
   * do {
   *   const page = l1.scan(cursor, 1000, (key) => key.startsWith("user:"));
   *   for (const key of page.keys) l1.delete(key);
   *   cursor = page.cursor;
   * } while (cursor !== 0);
   */
  scan(cursor: number, count: number, match?: (key: string) => boolean): L1ScanPage {
    requireInteger("cursor", cursor, 0, MAX_ENTRIES_LIMIT + 1);
    requireInteger("count", count, 1, MAX_ENTRIES_LIMIT + 1);
    const table = this.table;
    const end = Math.min(table.highWater, cursor + count);
    const now = this.expiring > 0 ? this.now() : -Infinity;
    const keys: string[] = [];
    for (let slot = cursor; slot < end; slot++) {
      const key = table.keys[slot];
      if (key === undefined) continue;
      if (table.expiresAt[slot] <= now) this.removeSlot(slot, "expired");
      else if (match === undefined || match(key)) keys.push(key);
    }
    this.rethrowListenerError();
    return { cursor: end >= table.highWater ? 0 : end, keys };
  }

  /**
   * Examines up to `maxSlots` slots, continuing round-robin from the last sweep, and reclaims the
   * expired entries among them; returns how many it reclaimed. `set` does this with
   * `sweepPerWrite`; call it from a timer for a cache that is read far more than written.
   */
  sweepExpired(maxSlots: number = this.sweepPerWrite): number {
    requireInteger("maxSlots", maxSlots, 0, MAX_ENTRIES_LIMIT + 1);
    const reclaimed = this.expiring > 0 ? this.sweep(maxSlots, this.now()) : 0;
    this.rethrowListenerError();
    return reclaimed;
  }

  private buildPolicy(): EvictionPolicy {
    const context = { table: this.table as EntryTable<unknown>, maxEntries: this.entryBound, maxBytes: this.byteBound, seed: this.seed };
    return createPolicy(this.currentPolicyName, context);
  }

  private insert(key: string, value: V, sizeBytes: number, expiresAt: number, tags: readonly string[] | undefined): number {
    const table = this.table;
    if (table.full) this.policy.grow(table.grow());
    const slot = table.allocate();
    table.keys[slot] = key;
    table.values[slot] = value;
    table.sizes[slot] = sizeBytes;
    table.expiresAt[slot] = expiresAt;
    table.tags[slot] = tags;
    if (expiresAt !== Infinity) this.expiring++;
    this.index.set(key, slot);
    this.bytes += sizeBytes;
    this.policy.onInsert(slot, key);
    return slot;
  }

  private replace(slot: number, key: string, value: V, sizeBytes: number, expiresAt: number, tags: readonly string[] | undefined): number {
    const table = this.table;
    const oldValue = table.values[slot] as V;
    const oldSize = table.sizes[slot];
    if (table.expiresAt[slot] !== Infinity) this.expiring--;
    if (expiresAt !== Infinity) this.expiring++;
    table.values[slot] = value;
    table.sizes[slot] = sizeBytes;
    table.expiresAt[slot] = expiresAt;
    table.tags[slot] = tags;
    this.bytes += sizeBytes - oldSize;
    this.policy.onUpdate(slot, oldSize);
    if (this.listeners.length > 0) this.emit(key, "replaced", oldValue, oldSize);
    return slot;
  }

  private evictWhileOverBounds(): void {
    while (this.index.size > this.entryBound || this.bytes > this.byteBound) {
      const victim = this.policy.selectVictim();
      // A policy bug must not become an endless loop or a corrupted index.
      if (victim < 0 || this.table.keys[victim] === undefined) throw new Error(`L1 ${this.policyName} policy chose no victim while over bounds`);
      this.removeSlot(victim, "capacity");
    }
  }

  /** `getIf` at `now` (the clock read here when undefined and needed); the caller rethrows listener errors. */
  private takeIf(key: string, accept: (value: V) => boolean, now: number | undefined): V | undefined {
    const slot = this.index.get(key);
    if (slot === undefined) return undefined;
    const table = this.table;
    if (this.expiring !== 0) {
      const expiresAt = table.expiresAt[slot];
      if (expiresAt !== Infinity && expiresAt <= (now ?? this.now())) {
        this.removeSlot(slot, "expired");
        return undefined;
      }
    }
    const value = table.values[slot] as V;
    if (!accept(value)) return undefined;
    this.hits++;
    this.policy.onAccess(slot);
    return value;
  }

  /** The slot of a live entry; an expired one is reclaimed on the way. */
  private liveSlot(key: string): number | undefined {
    const slot = this.index.get(key);
    if (slot === undefined) return undefined;
    const expiresAt = this.table.expiresAt[slot];
    if (expiresAt === Infinity || expiresAt > this.now()) return slot;
    this.removeSlot(slot, "expired");
    return undefined;
  }

  private sweep(maxSlots: number, now: number): number {
    const table = this.table;
    const steps = Math.min(maxSlots, table.highWater);
    let reclaimed = 0;
    for (let step = 0; step < steps; step++) {
      if (this.sweepCursor >= table.highWater) this.sweepCursor = 0;
      const slot = this.sweepCursor++;
      if (table.expiresAt[slot] <= now && table.keys[slot] !== undefined) {
        this.removeSlot(slot, "expired");
        reclaimed++;
      }
    }
    return reclaimed;
  }

  private removeSlot(slot: number, reason: EvictionReason): void {
    const table = this.table;
    const key = table.keys[slot] as string;
    const value = table.values[slot] as V;
    const sizeBytes = table.sizes[slot];
    this.policy.onRemove(slot);
    this.index.delete(key);
    if (table.expiresAt[slot] !== Infinity) this.expiring--;
    this.bytes -= sizeBytes;
    table.release(slot);
    if (reason === "capacity") this.evictions++;
    else if (reason === "expired") this.expirations++;
    if (this.listeners.length > 0) this.emit(key, reason, value, sizeBytes);
  }

  private emit(key: string, reason: EvictionReason, value: V, sizeBytes: number): void {
    for (const listener of this.listeners) {
      try {
        listener(key, reason, value, sizeBytes);
      } catch (error) {
        if (!this.listenerFailed) {
          this.listenerFailed = true;
          this.listenerError = error;
        }
      }
    }
  }

  private rethrowListenerError(): void {
    if (!this.listenerFailed) return;
    const error = this.listenerError;
    this.listenerFailed = false;
    this.listenerError = undefined;
    throw error;
  }
}
