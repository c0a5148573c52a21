/**
 * Slot storage for the L1 cache: entry `i` lives at index `i` of parallel arrays (key, value,
 * tags, size, expiry). Parallel arrays instead of one object per entry mean a hit or an update
 * allocates nothing and a freed slot is reused as is; the policies keep their own per-slot arrays
 * (links, region, frequency) indexed the same way. A hit reads only `values` from here (and
 * `expiresAt` while some entry has a TTL): each array a hit touches is one more cache miss on a
 * cache too large for the CPU caches.
 *
 * The arrays start small and double up to `maxCapacity`, so a cache configured for millions of
 * entries but bounded in practice by bytes does not reserve memory for entries it never holds.
 */

const INITIAL_CAPACITY = 1024;

export class EntryTable<V> {
  keys: (string | undefined)[] = [];
  values: (V | undefined)[] = [];
  tags: (readonly string[] | undefined)[] = [];
  sizes = new Float64Array(0);
  /** Absolute expiry on the cache's clock; `Infinity` means the entry never expires. */
  expiresAt = new Float64Array(0);
  capacity = 0;
  /** Slots `0 .. highWater-1` have been handed out at least once; the rest were never used. */
  highWater = 0;
  private freeSlots = new Int32Array(0);
  private freeCount = 0;

  /**
   * @param maxCapacity the most slots the arrays grow to; `L1Cache.reconfigure` changes it. A
   *   lower value never shrinks arrays already allocated, it only stops further growth.
   */
  constructor(public maxCapacity: number) {
    this.growTo(Math.min(maxCapacity, INITIAL_CAPACITY));
  }

  /** True when `allocate` needs `grow` first. */
  get full(): boolean {
    return this.freeCount === 0 && this.highWater === this.capacity;
  }

  /** Doubles the capacity (up to `maxCapacity`) and returns the new capacity. */
  grow(): number {
    this.growTo(Math.min(this.maxCapacity, this.capacity * 2));
    return this.capacity;
  }

  /** A free slot; the caller checked `full` first. */
  allocate(): number {
    if (this.freeCount > 0) return this.freeSlots[--this.freeCount];
    return this.highWater++;
  }

  /** Empties a slot and makes it reusable. */
  release(slot: number): void {
    this.keys[slot] = undefined;
    this.values[slot] = undefined;
    this.tags[slot] = undefined;
    this.sizes[slot] = 0;
    this.expiresAt[slot] = Infinity;
    this.freeSlots[this.freeCount++] = slot;
  }

  /** Empties every slot, keeping the allocated capacity. */
  clear(): void {
    this.keys.fill(undefined);
    this.values.fill(undefined);
    this.tags.fill(undefined);
    this.sizes.fill(0);
    this.expiresAt.fill(Infinity);
    this.highWater = 0;
    this.freeCount = 0;
  }

  private growTo(capacity: number): void {
    if (capacity <= this.capacity) return;
    // Exactly sized copies: growing by `push` would leave up to half of each array as slack.
    this.keys = growArray(this.keys, capacity);
    this.values = growArray(this.values, capacity);
    this.tags = growArray(this.tags, capacity);
    this.sizes = grow(this.sizes, new Float64Array(capacity));
    this.expiresAt = grow(this.expiresAt, new Float64Array(capacity).fill(Infinity));
    this.freeSlots = grow(this.freeSlots, new Int32Array(capacity));
    this.capacity = capacity;
  }
}

function growArray<T>(source: (T | undefined)[], capacity: number): (T | undefined)[] {
  const grown = new Array<T | undefined>(capacity).fill(undefined);
  for (let i = 0; i < source.length; i++) grown[i] = source[i];
  return grown;
}

function grow<T extends Float64Array | Int32Array>(source: T, target: T): T {
  target.set(source);
  return target;
}
