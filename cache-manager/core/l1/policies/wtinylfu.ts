/**
 * W-TinyLFU (Einziger, Friedman & Manes, "TinyLFU: A Highly Efficient Cache Admission Policy";
 * the design Caffeine uses), with a fixed window size.
 *
 * - New entries enter a small LRU **window** (1% of the bounds) so a burst of new keys can build
 *   up frequency before it has to compete.
 * - The **main** area is a segmented LRU: entries arrive in **probation**; a hit there promotes
 *   them to **protected** (80% of main); protected overflow is demoted back to probation.
 * - When the cache is over a bound, the window's oldest entry (the candidate) competes with
 *   probation's oldest (the victim) on their estimated frequency in a Count-Min sketch that also
 *   remembers keys no longer cached. The candidate is admitted only if it is more popular, so a
 *   one-off scan cannot flush keys that are used again and again.
 * - A candidate that ties with a popular victim is rejected, which an attacker could exploit to
 *   keep a hot key out; a warm candidate (frequency ≥ 6) is therefore admitted with probability
 *   1/128 (Caffeine's hash-flooding defence).
 *
 * Regions are bounded in entries and in bytes, each a share of the cache's two bounds. Every
 * operation is O(1); a hit costs a sketch increment (4 counters) plus a list move. Not done:
 * Caffeine's hill climber that adapts the window size to the workload.
 */
import type { EntryTable } from "../entries";
import { NONE, SlotLinks, SlotList } from "../list";
import { FrequencySketch, hashKey } from "../sketch";
import type { EvictionPolicy, PolicyContext, PolicyEntryInfo, Segment } from "./policy";

const WINDOW_SHARE = 0.01;
const PROTECTED_SHARE = 0.8;
const WARM_CANDIDATE_FREQUENCY = 6;

// A slot's word in `meta` holds its region in the top 2 bits and 30 bits of its key hash (all the
// sketch needs: it indexes at most 2^23 blocks), so a hit reads one array for both.
const NO_REGION = 0;
const WINDOW = 1;
const PROBATION = 2;
const PROTECTED = 3;
const REGION_SHIFT = 30;
const HASH_MASK = (1 << REGION_SHIFT) - 1;
const SEGMENT_NAMES: Segment[] = ["window", "window", "probation", "protected"];

/** One LRU region with its own entry and byte limits. */
class Region {
  readonly list: SlotList;
  bytes = 0;

  constructor(
    links: SlotLinks,
    readonly maxEntries: number,
    readonly maxBytes: number,
  ) {
    this.list = new SlotList(links);
  }

  get overLimit(): boolean {
    return this.list.length > this.maxEntries || this.bytes > this.maxBytes;
  }

  add(slot: number, sizeBytes: number): void {
    this.list.push(slot);
    this.bytes += sizeBytes;
  }

  remove(slot: number, sizeBytes: number): void {
    this.list.remove(slot);
    this.bytes -= sizeBytes;
  }

  clear(): void {
    this.list.clear();
    this.bytes = 0;
  }
}

export class WTinyLfuPolicy implements EvictionPolicy {
  readonly name = "w-tinylfu" as const;
  private readonly table: EntryTable<unknown>;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly links: SlotLinks;
  private readonly window: Region;
  private readonly probation: Region;
  private readonly protected: Region;
  private readonly regions: Region[];
  private readonly sketch: FrequencySketch;
  private meta: Int32Array;
  private entries = 0;
  private bytes = 0;
  private random: number;

  constructor(context: PolicyContext) {
    const { table, maxEntries, maxBytes } = context;
    this.table = table;
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
    this.links = new SlotLinks(table.capacity);
    const windowEntries = Math.max(1, Math.floor(maxEntries * WINDOW_SHARE));
    const windowBytes = maxBytes * WINDOW_SHARE;
    const mainEntries = Math.max(0, maxEntries - windowEntries);
    const mainBytes = maxBytes - windowBytes;
    this.window = new Region(this.links, windowEntries, windowBytes);
    this.probation = new Region(this.links, Infinity, Infinity);
    this.protected = new Region(this.links, Math.floor(mainEntries * PROTECTED_SHARE), mainBytes * PROTECTED_SHARE);
    this.regions = [this.window, this.window, this.probation, this.protected]; // indexed by region; 0 (none) is never looked up
    this.sketch = new FrequencySketch(table.capacity);
    this.meta = new Int32Array(table.capacity);
    this.random = context.seed | 0 || 1;
  }

  grow(capacity: number): void {
    this.links.grow(capacity);
    const meta = new Int32Array(capacity);
    meta.set(this.meta);
    this.meta = meta;
    this.sketch.ensureCapacity(capacity);
  }

  onInsert(slot: number, key: string): void {
    const hash = hashKey(key) & HASH_MASK;
    this.sketch.increment(hash);
    const sizeBytes = this.table.sizes[slot];
    this.meta[slot] = hash | (WINDOW << REGION_SHIFT);
    this.window.add(slot, sizeBytes);
    this.entries++;
    this.bytes += sizeBytes;
    // While the cache has room, window overflow moves to main without competing.
    if (!this.overCapacity()) while (this.window.overLimit) this.move(this.window.list.head, this.window, this.probation, PROBATION);
  }

  onAccess(slot: number): void {
    const word = this.meta[slot];
    this.sketch.increment(word & HASH_MASK);
    const region = word >>> REGION_SHIFT;
    if (region === PROTECTED) this.protected.list.moveToTail(slot);
    else if (region === WINDOW) this.window.list.moveToTail(slot);
    else this.promote(slot);
  }

  onUpdate(slot: number, oldSizeBytes: number): void {
    const delta = this.table.sizes[slot] - oldSizeBytes;
    this.regions[this.regionOf(slot)].bytes += delta;
    this.bytes += delta;
    this.onAccess(slot);
  }

  onRemove(slot: number): void {
    const sizeBytes = this.table.sizes[slot];
    this.regions[this.regionOf(slot)].remove(slot, sizeBytes);
    this.setRegion(slot, NO_REGION);
    this.entries--;
    this.bytes -= sizeBytes;
  }

  selectVictim(): number {
    const candidate = this.window.overLimit ? this.window.list.head : NONE;
    const victim = this.probation.list.head !== NONE ? this.probation.list.head : this.protected.list.head;
    if (candidate === NONE) return victim !== NONE ? victim : this.window.list.head;
    if (victim === NONE) return candidate;
    if (!this.admit(candidate, victim)) return candidate;
    this.move(candidate, this.window, this.probation, PROBATION);
    return victim;
  }

  /**
   * Probation (seen once, victims first), then the window (new entries, which must still win
   * admission), then protected (seen again): oldest first within each.
   */
  forEachInEvictionOrder(visit: (slot: number) => void): void {
    this.probation.list.forEach(visit);
    this.window.list.forEach(visit);
    this.protected.list.forEach(visit);
  }

  describe(slot: number): PolicyEntryInfo {
    return { policy: "w-tinylfu", segment: SEGMENT_NAMES[this.regionOf(slot)], frequency: this.sketch.frequency(this.hashOf(slot)) };
  }

  /** Forgets the entries but keeps the frequency history, which is still true of the keys. */
  clear(): void {
    this.window.clear();
    this.probation.clear();
    this.protected.clear();
    this.entries = 0;
    this.bytes = 0;
  }

  private overCapacity(): boolean {
    return this.entries > this.maxEntries || this.bytes > this.maxBytes;
  }

  /** A probation hit earns a place in protected; protected overflow goes back to probation. */
  private promote(slot: number): void {
    this.move(slot, this.probation, this.protected, PROTECTED);
    while (this.protected.overLimit) this.move(this.protected.list.head, this.protected, this.probation, PROBATION);
  }

  private move(slot: number, from: Region, to: Region, toRegion: number): void {
    const sizeBytes = this.table.sizes[slot];
    from.remove(slot, sizeBytes);
    to.add(slot, sizeBytes);
    this.setRegion(slot, toRegion);
  }

  private regionOf(slot: number): number {
    return this.meta[slot] >>> REGION_SHIFT;
  }

  private hashOf(slot: number): number {
    return this.meta[slot] & HASH_MASK;
  }

  private setRegion(slot: number, region: number): void {
    this.meta[slot] = (this.meta[slot] & HASH_MASK) | (region << REGION_SHIFT);
  }

  private admit(candidate: number, victim: number): boolean {
    const candidateFrequency = this.sketch.frequency(this.hashOf(candidate));
    const victimFrequency = this.sketch.frequency(this.hashOf(victim));
    if (candidateFrequency > victimFrequency) return true;
    return candidateFrequency >= WARM_CANDIDATE_FREQUENCY && (this.nextRandom() & 127) === 0;
  }

  /** xorshift32: cheap, seeded, and good enough for a 1-in-128 coin. */
  private nextRandom(): number {
    let x = this.random;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.random = x;
    return x;
  }
}
