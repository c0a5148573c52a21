/**
 * Guards L1 fills against invalidations that race them.
 *
 * The race: a read misses L1 and asks L2; meanwhile another instance writes the key and its
 * invalidation reaches this instance before the L2 reply does. Filling L1 with that reply would
 * keep the old value until its TTL, with nothing left to remove it. So a read takes a token
 * before asking L2 and fills L1 only if the key was not invalidated (nor everything cleared)
 * since.
 *
 * How: one global counter (`tick`) advances on every invalidation; a token is the tick at
 * snapshot time. A `Map` remembers, for the most recently invalidated keys, the tick of their last
 * invalidation, in tick order (re-invalidating a key moves it to the end). A clear raises `floor`
 * to the current tick: tokens taken before it are refused. When the map is full the oldest entry
 * is evicted and `floor` rises to its tick, so a token older than any forgotten invalidation is
 * refused: never a false "unchanged", and a false "changed" only for reads that were in flight
 * across `maxKeys` other invalidations. Every operation is O(1); memory is bounded by `maxKeys`.
 *
 * @example
 * const token = versions.snapshot(key);
 * const raw = await l2.get(key);
 * if (raw !== null && versions.unchanged(key, token)) l1.set(key, raw, { sizeBytes: raw.length });
 * // and in the coherence handlers: versions.invalidateMany(keys) / versions.clear()
 */
import { CoherenceArgumentError } from "./errors.ts";

/** Opaque to callers: compare only through `unchanged`. */
export type VersionToken = number;

export interface KeyVersionsOptions {
  /** Most keys remembered at once; default 100 000. */
  maxKeys?: number;
}

export interface KeyVersionsStats {
  /** Keys currently remembered. */
  size: number;
  maxKeys: number;
  /** Invalidations and clears so far. */
  tick: number;
  /** Tokens below this are refused (raised by clears and evictions). */
  floor: number;
  /** Keys forgotten because the map was full (each one may refuse in-flight fills). */
  evictions: number;
  clears: number;
}

export class KeyVersions {
  private readonly maxKeys: number;
  private readonly invalidatedAt = new Map<string, number>();
  /**
   * A live iterator over `invalidatedAt`, kept between evictions. Asking a fresh iterator for the
   * first entry walks over every deleted slot at the head of V8's hash table — O(maxKeys) per
   * eviction once the map is full. A kept iterator walks each slot once: everything before its
   * position was evicted or moved to the end, so its next entry is always the oldest.
   */
  private oldest: Iterator<[string, number]> | null = null;
  private tick = 0;
  private floor = 0;
  private evictions = 0;
  private clears = 0;

  constructor(options: KeyVersionsOptions = {}) {
    const maxKeys = options.maxKeys ?? 100_000;
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) throw new CoherenceArgumentError(`maxKeys must be a positive integer, got ${options.maxKeys}`);
    this.maxKeys = maxKeys;
  }

  /**
   * Takes a token before reading L2. The token is global; the key is accepted so call sites read
   * as the pair they are (`snapshot(key)` ... `unchanged(key, token)`).
   */
  snapshot(_key?: string): VersionToken {
    return this.tick;
  }

  /** True when neither `key` nor everything was invalidated since `token` was taken. */
  unchanged(key: string, token: VersionToken): boolean {
    if (token < this.floor) return false;
    const at = this.invalidatedAt.get(key);
    return at === undefined || at <= token;
  }

  invalidate(key: string): void {
    this.tick += 1;
    // Delete first so the key moves to the end: iteration order stays tick order.
    this.invalidatedAt.delete(key);
    this.invalidatedAt.set(key, this.tick);
    if (this.invalidatedAt.size > this.maxKeys) this.evictOldest();
  }

  invalidateMany(keys: Iterable<string>): void {
    for (const key of keys) this.invalidate(key);
  }

  /** Everything changed (flush, coherence gap): refuses every token taken before now. */
  clear(): void {
    this.tick += 1;
    this.floor = this.tick;
    this.invalidatedAt.clear();
    this.clears += 1;
  }

  stats(): KeyVersionsStats {
    return { size: this.invalidatedAt.size, maxKeys: this.maxKeys, tick: this.tick, floor: this.floor, evictions: this.evictions, clears: this.clears };
  }

  private evictOldest(): void {
    this.oldest ??= this.invalidatedAt.entries();
    let next = this.oldest.next();
    // A finished iterator never sees later entries: start a new one.
    if (next.done) next = (this.oldest = this.invalidatedAt.entries()).next();
    if (next.done) return;
    const [key, at] = next.value;
    this.invalidatedAt.delete(key);
    // Tokens taken before this key's invalidation can no longer be checked against it.
    this.floor = Math.max(this.floor, at);
    this.evictions += 1;
  }
}
