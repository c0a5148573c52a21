/**
 * Intrusive doubly-linked lists over slot numbers.
 *
 * The cache keeps every entry in a numbered slot. A slot's links live in one shared `Int32Array`
 * as `[next, prev]` pairs instead of in node objects, so a hit allocates nothing and both links
 * of a slot sit in one cache line (separate `next` and `prev` arrays cost two misses per slot on
 * a cache too large for the CPU caches). Several lists (W-TinyLFU's regions, LFU's frequency
 * buckets) share one `SlotLinks`: a slot is on at most one list at a time.
 */

/** The "no slot" marker used for list ends. */
export const NONE = -1;

/** `[next, prev]` per slot; grows with the cache. */
export class SlotLinks {
  words: Int32Array;

  constructor(capacity: number) {
    this.words = new Int32Array(capacity * 2).fill(NONE);
  }

  /** Makes room for slots `0 .. capacity-1`, keeping the existing links. */
  grow(capacity: number): void {
    if (capacity * 2 <= this.words.length) return;
    const words = new Int32Array(capacity * 2).fill(NONE);
    words.set(this.words);
    this.words = words;
  }
}

/** A list ordered from `head` (oldest) to `tail` (newest). */
export class SlotList {
  head = NONE;
  tail = NONE;
  length = 0;

  constructor(private readonly links: SlotLinks) {}

  /** Appends a slot that is on no list. */
  push(slot: number): void {
    const words = this.links.words;
    const tail = this.tail;
    words[slot << 1] = NONE;
    words[(slot << 1) + 1] = tail;
    if (tail === NONE) this.head = slot;
    else words[tail << 1] = slot;
    this.tail = slot;
    this.length++;
  }

  /** Unlinks a slot that is on this list. */
  remove(slot: number): void {
    const words = this.links.words;
    const after = words[slot << 1];
    const before = words[(slot << 1) + 1];
    if (before === NONE) this.head = after;
    else words[before << 1] = after;
    if (after === NONE) this.tail = before;
    else words[(after << 1) + 1] = before;
    words[slot << 1] = NONE;
    words[(slot << 1) + 1] = NONE;
    this.length--;
  }

  /** Moves a slot on this list to the tail (most recent); the hot path of every hit. */
  moveToTail(slot: number): void {
    const tail = this.tail;
    if (slot === tail) return;
    const words = this.links.words;
    const after = words[slot << 1];
    const before = words[(slot << 1) + 1];
    if (before === NONE) this.head = after;
    else words[before << 1] = after;
    words[(after << 1) + 1] = before;
    words[slot << 1] = NONE;
    words[(slot << 1) + 1] = tail;
    words[tail << 1] = slot;
    this.tail = slot;
  }

  /** The slot after `slot` on this list, or `NONE`. */
  after(slot: number): number {
    return this.links.words[slot << 1];
  }

  /** Visits the slots from head to tail; `visit` must not change this list. */
  forEach(visit: (slot: number) => void): void {
    const words = this.links.words;
    for (let slot = this.head; slot !== NONE; slot = words[slot << 1]) visit(slot);
  }

  /** Moves every slot of `other` to the tail of this list, in order, in O(1). */
  takeAll(other: SlotList): void {
    if (other.length === 0) return;
    const words = this.links.words;
    if (this.tail === NONE) this.head = other.head;
    else {
      words[this.tail << 1] = other.head;
      words[(other.head << 1) + 1] = this.tail;
    }
    this.tail = other.tail;
    this.length += other.length;
    other.head = NONE;
    other.tail = NONE;
    other.length = 0;
  }

  /** Forgets every slot; `push` rewrites a slot's links, so stale ones do no harm. */
  clear(): void {
    this.head = NONE;
    this.tail = NONE;
    this.length = 0;
  }
}
