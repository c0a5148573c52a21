/**
 * Least frequently used, exact counts with O(1) frequency buckets and periodic aging.
 *
 * - Entries sit in buckets by access count (1..255); each bucket is an LRU list, so ties go to the
 *   least recent. A hit moves the entry to the next bucket; the victim is the head of the lowest
 *   non-empty bucket (found by walking up from `lowest`, at most 255 steps, so O(1)).
 * - Aging: pure LFU never forgets, so keys that were hot an hour ago crowd out keys hot now. Every
 *   `10 × capacity` hits all counts are halved: buckets `2k` and `2k+1` are spliced onto bucket `k`
 *   in O(1) each, then one walk rewrites the counts. That walk is O(entries) once per
 *   `10 × capacity` hits: amortised O(1), with one slower hit.
 * - A new entry is never the victim of its own insertion (classic LFU evicts before inserting);
 *   otherwise a full cache of frequent keys would reject every newcomer.
 */
import { NONE, SlotLinks, SlotList } from "../list";
import type { EvictionPolicy, PolicyContext, PolicyEntryInfo } from "./policy";

const MAX_FREQUENCY = 255;
const AGING_PERIOD_PER_SLOT = 10;

export class LfuPolicy implements EvictionPolicy {
  readonly name = "lfu" as const;
  private readonly links: SlotLinks;
  private readonly buckets: SlotList[];
  private frequency: Uint8Array;
  /** No entry has a count below this; buckets from here up may be empty. */
  private lowest = 1;
  private newest = NONE;
  private hitsSinceAging = 0;
  private agingPeriod: number;

  constructor(context: PolicyContext) {
    const capacity = context.table.capacity;
    this.links = new SlotLinks(capacity);
    this.buckets = Array.from({ length: MAX_FREQUENCY + 1 }, () => new SlotList(this.links));
    this.frequency = new Uint8Array(capacity);
    this.agingPeriod = AGING_PERIOD_PER_SLOT * capacity;
  }

  grow(capacity: number): void {
    this.links.grow(capacity);
    const frequency = new Uint8Array(capacity);
    frequency.set(this.frequency);
    this.frequency = frequency;
    this.agingPeriod = AGING_PERIOD_PER_SLOT * capacity;
  }

  onInsert(slot: number): void {
    this.frequency[slot] = 1;
    this.buckets[1].push(slot);
    this.lowest = 1;
    this.newest = slot;
  }

  onAccess(slot: number): void {
    const count = this.frequency[slot];
    if (count === MAX_FREQUENCY) this.buckets[count].moveToTail(slot);
    else {
      this.buckets[count].remove(slot);
      this.buckets[count + 1].push(slot);
      this.frequency[slot] = count + 1;
    }
    if (++this.hitsSinceAging >= this.agingPeriod) this.age();
  }

  onUpdate(slot: number): void {
    this.onAccess(slot);
  }

  onRemove(slot: number): void {
    this.buckets[this.frequency[slot]].remove(slot);
    if (slot === this.newest) this.newest = NONE;
  }

  selectVictim(): number {
    let count = this.lowest;
    while (count < MAX_FREQUENCY && this.buckets[count].length === 0) count++;
    this.lowest = count;
    const victim = this.buckets[count].head;
    if (victim !== this.newest) return victim;
    const next = this.buckets[count].after(victim);
    if (next !== NONE) return next;
    for (let higher = count + 1; higher <= MAX_FREQUENCY; higher++) {
      if (this.buckets[higher].length > 0) return this.buckets[higher].head;
    }
    return victim; // the newest entry is the only one left
  }

  /** Least frequent first, the least recent first among equals. */
  forEachInEvictionOrder(visit: (slot: number) => void): void {
    for (let count = 1; count <= MAX_FREQUENCY; count++) this.buckets[count].forEach(visit);
  }

  describe(slot: number): PolicyEntryInfo {
    return { policy: "lfu", frequency: this.frequency[slot] };
  }

  clear(): void {
    for (const bucket of this.buckets) bucket.clear();
    this.lowest = 1;
    this.newest = NONE;
    this.hitsSinceAging = 0;
  }

  /** Halves every count; splicing in ascending order means each target bucket was already emptied. */
  private age(): void {
    this.hitsSinceAging = 0;
    for (let count = 2; count <= MAX_FREQUENCY; count++) this.buckets[count >> 1].takeAll(this.buckets[count]);
    for (let count = 1; count <= MAX_FREQUENCY >> 1; count++) {
      const bucket = this.buckets[count];
      for (let slot = bucket.head; slot !== NONE; slot = bucket.after(slot)) this.frequency[slot] = count;
    }
    this.lowest = 1;
  }
}
