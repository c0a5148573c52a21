/**
 * Intrusive doubly-linked lists over slot numbers.
 *
 * The cache keeps every entry in a numbered slot. The links between entries live in two shared
 * typed arrays (`next`, `prev`) instead of node objects, so moving an entry to the tail of a list
 * allocates nothing and touches a few integers. Several lists (the segments of W-TinyLFU, the
 * frequency buckets of LFU) share one `SlotLinks`: a slot is on at most one list at a time.
 */

/** The "no slot" marker used for list ends. */
export const NONE = -1;

/** The `next` / `prev` arrays shared by the lists of one policy; they grow with the cache. */
export class SlotLinks {
  next: Int32Array;
  prev: Int32Array;

  constructor(capacity: number) {
    this.next = new Int32Array(capacity).fill(NONE);
    this.prev = new Int32Array(capacity).fill(NONE);
  }

  /** Makes room for slots `0 .. capacity-1`, keeping the existing links. */
  grow(capacity: number): void {
    if (capacity <= this.next.length) return;
    this.next = growInt32(this.next, capacity);
    this.prev = growInt32(this.prev, capacity);
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
    const { next, prev } = this.links;
    prev[slot] = this.tail;
    next[slot] = NONE;
    if (this.tail === NONE) this.head = slot;
    else next[this.tail] = slot;
    this.tail = slot;
    this.length++;
  }

  /** Unlinks a slot that is on this list. */
  remove(slot: number): void {
    const { next, prev } = this.links;
    const after = next[slot];
    const before = prev[slot];
    if (before === NONE) this.head = after;
    else next[before] = after;
    if (after === NONE) this.tail = before;
    else prev[after] = before;
    next[slot] = NONE;
    prev[slot] = NONE;
    this.length--;
  }

  /** Moves a slot on this list to the tail (most recent); the hot path of every hit. */
  moveToTail(slot: number): void {
    const tail = this.tail;
    if (slot === tail) return;
    const { next, prev } = this.links;
    const after = next[slot];
    const before = prev[slot];
    if (before === NONE) this.head = after;
    else next[before] = after;
    prev[after] = before;
    prev[slot] = tail;
    next[slot] = NONE;
    next[tail] = slot;
    this.tail = slot;
  }

  /** The slot after `slot` on this list, or `NONE`. */
  after(slot: number): number {
    return this.links.next[slot];
  }

  /** Moves every slot of `other` to the tail of this list, in order, in O(1). */
  takeAll(other: SlotList): void {
    if (other.length === 0) return;
    const { next, prev } = this.links;
    if (this.tail === NONE) this.head = other.head;
    else {
      next[this.tail] = other.head;
      prev[other.head] = this.tail;
    }
    this.tail = other.tail;
    this.length += other.length;
    other.head = NONE;
    other.tail = NONE;
    other.length = 0;
  }

  /** Forgets every slot; the caller resets the links it still cares about. */
  clear(): void {
    this.head = NONE;
    this.tail = NONE;
    this.length = 0;
  }
}

/** A copy of `source` with `capacity` elements; new elements hold `NONE`. */
export function growInt32(source: Int32Array, capacity: number): Int32Array {
  const grown = new Int32Array(capacity).fill(NONE);
  grown.set(source);
  return grown;
}
