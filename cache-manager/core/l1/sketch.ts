/**
 * A Count-Min sketch of access frequencies with 4-bit counters, the "TinyLFU" history of
 * W-TinyLFU (Einziger, Friedman & Manes, "TinyLFU: A Highly Efficient Cache Admission Policy").
 *
 * - Each key hashes to four counters; its estimated frequency is the smallest of the four, so
 *   estimates only err upward. The four counters lie in one 64-byte block (one cache line) chosen
 *   by the key's hash, each in its own quarter of the block: a hit costs one cache miss, not four.
 *   At 100k entries the table (1 MiB) outgrows the CPU caches, and four scattered counters made
 *   W-TinyLFU hits three times slower than LRU hits.
 * - Counters saturate at 15: admission only compares "how popular, roughly", and small counters
 *   keep the table at 8 bytes per cached entry (16 counters per entry, as Caffeine sizes it).
 * - Aging ("reset"): after `10 × capacity` increments every counter is halved, so keys that were
 *   popular long ago lose to keys that are popular now. That is O(table) once per 10 × capacity
 *   increments, i.e. amortised O(1).
 */

const COUNTER_MAX = 15;
const ONE_MASK = 0x11111111; // the low bit of each of the 8 counters in a word
const HALF_MASK = 0x77777777; // clears the bits that shift into a neighbour when halving
const MAX_ENTRIES = 1 << 26;
const COUNTERS_PER_ENTRY = 16;
const COUNTERS_PER_WORD = 8;
const WORDS_PER_BLOCK = 16; // 64 bytes

/**
 * A 32-bit hash of a cache key (FNV-1a over UTF-16 code units, then a murmur3 finaliser so that
 * keys differing in one trailing character still spread over the table). Computed once per
 * insertion and stored with the entry, so hits never re-hash the key.
 */
export function hashKey(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return mix32(hash);
}

/** The murmur3 32-bit finaliser: every input bit affects every output bit. */
export function mix32(value: number): number {
  let h = value ^ (value >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

export class FrequencySketch {
  private table = new Uint32Array(0);
  private blockMask = 0;
  private capacity = 0;
  private additions = 0;
  private sampleSize = 0;

  /** @param expectedEntries how many entries the cache holds; see `ensureCapacity`. */
  constructor(expectedEntries: number) {
    this.ensureCapacity(expectedEntries);
  }

  /**
   * Sizes the table for `expectedEntries` cached entries. Growing starts a fresh history (as in
   * Caffeine); the cache grows by doubling, so this happens a few times while it warms up.
   */
  ensureCapacity(expectedEntries: number): void {
    const entries = ceilingPowerOfTwo(Math.min(Math.max(expectedEntries, 16), MAX_ENTRIES));
    if (entries <= this.capacity) return;
    this.capacity = entries;
    const words = (entries * COUNTERS_PER_ENTRY) / COUNTERS_PER_WORD;
    this.table = new Uint32Array(words);
    this.blockMask = words / WORDS_PER_BLOCK - 1;
    this.sampleSize = 10 * entries;
    this.additions = 0;
  }

  /** The estimated number of recent accesses of the key with this `hashKey`, 0..15. */
  frequency(hash: number): number {
    const start = (hash & this.blockMask) << 4;
    const selector = mix32(hash ^ 0x9e3779b9);
    const table = this.table;
    let min = COUNTER_MAX;
    for (let i = 0; i < 4; i++) {
      const bits = selector >>> (i << 3);
      const count = (table[start + (i << 2) + (bits & 3)] >>> (((bits >>> 2) & 7) << 2)) & COUNTER_MAX;
      if (count < min) min = count;
    }
    return min;
  }

  /** Records one access of the key with this `hashKey`; may trigger the periodic halving. */
  increment(hash: number): void {
    const start = (hash & this.blockMask) << 4;
    const selector = mix32(hash ^ 0x9e3779b9);
    const table = this.table;
    let added = false;
    for (let i = 0; i < 4; i++) {
      const bits = selector >>> (i << 3);
      const word = start + (i << 2) + (bits & 3);
      const shift = ((bits >>> 2) & 7) << 2;
      const value = table[word];
      if (((value >>> shift) & COUNTER_MAX) < COUNTER_MAX) {
        table[word] = value + (1 << shift);
        added = true;
      }
    }
    if (added && ++this.additions >= this.sampleSize) this.halve();
  }

  /** Halves every counter. Each increment touched 4 counters, so a quarter of the odd counters
   *  approximates the increments lost to truncation. */
  private halve(): void {
    const table = this.table;
    let odd = 0;
    for (let i = 0; i < table.length; i++) {
      const value = table[i];
      odd += bitCount(value & ONE_MASK);
      table[i] = (value >>> 1) & HALF_MASK;
    }
    this.additions = Math.max(0, (this.additions - (odd >>> 2)) >>> 1);
  }
}

function ceilingPowerOfTwo(value: number): number {
  return 2 ** Math.ceil(Math.log2(value));
}

function bitCount(value: number): number {
  let v = value - ((value >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}
