/**
 * Slot storage for the L1 cache: entry `i` lives at index `i` of parallel arrays (key, value,
 * size, expiry, hit count, tags). Parallel arrays instead of one object per entry mean a hit or an
 * update allocates nothing and a free slot is reused as is; the policies keep their own per-slot
 * arrays (links, segment, frequency) indexed the same way.
 *
 * The arrays start small and double up to `maxCapacity`, so a cache configured for millions of
 * entries but bounded in practice by bytes does not reserve memory for entries it never holds.
 */

const INITIAL_CAPACITY = 1024;

export class EntryTable<V> {
  readonly keys: (string | undefined)[] = [];
  readonly values: (V | undefined)[] = [];
  readonly tags: (readonly string[] | undefined)[] = [];
  sizes: Float64Array;
  /** Absolute expiry on the cache's clock; `Infinity` means the entry never expires. */
  expiresAt: Float64Array;
  hits: Uint32Array;
  capacity = 0;
  /** Slots `0 .. highWater-1` have been handed out at least once; the rest were never used. */
  highWater = 0;
  private freeSlots: Int32Array;
  private freeCount = 0;

  constructor(readonly maxCapacity: number) {
    this.sizes = new Float64Array(0);
    this.expiresAt = new Float64Array(0);
    this.hits = new Uint32Array(0);
    this.freeSlots = new Int32Array(0);
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
    this.hits[slot] = 0;
    this.freeSlots[this.freeCount++] = slot;
  }

  /** Empties every slot, keeping the allocated capacity. */
  clear(): void {
    this.keys.fill(undefined);
    this.values.fill(undefined);
    this.tags.fill(undefined);
    this.sizes.fill(0);
    this.expiresAt.fill(Infinity);
    this.hits.fill(0);
    this.highWater = 0;
    this.freeCount = 0;
  }

  private growTo(capacity: number): void {
    if (capacity <= this.capacity) return;
    for (let i = this.capacity; i < capacity; i++) {
      // push keeps the arrays packed, which keeps element access on V8's fast path
      this.keys.push(undefined);
      this.values.push(undefined);
      this.tags.push(undefined);
    }
    this.sizes = growFloat64(this.sizes, capacity, 0);
    this.expiresAt = growFloat64(this.expiresAt, capacity, Infinity);
    const hits = new Uint32Array(capacity);
    hits.set(this.hits);
    this.hits = hits;
    const freeSlots = new Int32Array(capacity);
    freeSlots.set(this.freeSlots);
    this.freeSlots = freeSlots;
    this.capacity = capacity;
  }
}

function growFloat64(source: Float64Array, capacity: number, fill: number): Float64Array {
  const grown = new Float64Array(capacity).fill(fill);
  grown.set(source);
  return grown;
}
