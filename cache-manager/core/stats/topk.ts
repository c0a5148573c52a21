/**
 * Hot-key statistics with bounded memory: the Space-Saving algorithm (Metwally, Agrawal and El
 * Abbadi, 2005) over a fixed number of counters. The warming service reads `top(n)` to pre-load
 * the keys that matter, and the dashboard shows them.
 *
 * - Memory: `capacity` counters, whatever the number of distinct keys in the stream. When a new
 *   key arrives and every counter is taken, the key with the smallest count gives up its counter;
 *   the newcomer inherits that count as its `error` (it may have been seen that often before).
 * - Guarantees, for every key reported: `count - error ≤ true count ≤ count`, and
 *   `error ≤ total / capacity`. Any key whose true count exceeds `total / capacity` is monitored.
 *   A capacity of 10–50× the `k` you report keeps the top-k exact on skewed (Zipf-like) traffic.
 * - Cost: `offer` is O(log capacity) (a min-heap of counters on count, each knowing its slot, plus
 *   a map key → counter) and allocates nothing once `capacity` keys have been seen; `top(n)` sorts the counters, O(capacity log
 *   capacity), and is meant for reporting rather than the request path.
 * - Changing popularity: `decay(factor)` multiplies every count (and error) by `factor`, so old
 *   traffic fades; with `decay: { intervalMs, factor }` it happens on the injected clock, applied
 *   lazily on the next `offer` or `top` (no timer). Scaling keeps the heap order and the bounds,
 *   relative to the equally decayed true counts.
 *
 * Keys are held as given; bound their length where they enter (the API does).
 *
 * @example
 * const hot = new TopK({ k: 20, decay: { intervalMs: 60_000, factor: 0.5 } });
 * hot.offer("user:42");
 * hot.top(5); // [{ key: "user:42", count: 1, error: 0 }, ...]
 */
import { systemClock, type Clock } from "../../../lib/clock.ts";
import { StatsArgumentError } from "../../../lib/metrics/errors.ts";

export interface TopKOptions {
  /** How many keys `top()` reports by default (a positive integer). */
  k: number;
  /** Counters kept (≥ k); default `k * 20`. Memory is O(capacity). */
  capacity?: number;
  /** Multiply every count by `factor` each `intervalMs` on `clock`. */
  decay?: { intervalMs: number; factor: number };
  clock?: Clock;
}

export interface TopKEntry {
  key: string;
  /** An upper bound on the key's (decayed) count. */
  count: number;
  /** How much of `count` may come from other keys: the true count is ≥ `count - error`. */
  error: number;
}

/** One monitored key: its counts and where it sits in the heap (so a swap needs no map update). */
interface Counter {
  key: string;
  count: number;
  error: number;
  slot: number;
}

export class TopK {
  readonly k: number;
  readonly capacity: number;
  private readonly decayEvery: { intervalMs: number; factor: number } | null;
  private readonly clock: Clock;
  private lastDecayAt: number;

  /** The min-heap on count: slot 0 holds the smallest. */
  private readonly heap: Counter[] = [];
  /** Key → its counter. Only a newcomer changes it: sifting moves counters, not keys. */
  private readonly counters = new Map<string, Counter>();
  private offered = 0;

  constructor(options: TopKOptions) {
    const { k } = options;
    if (!isPositiveInteger(k)) throw new StatsArgumentError(`TopK k must be a positive integer, got ${k}`);
    const capacity = options.capacity ?? k * 20;
    if (!isPositiveInteger(capacity) || capacity < k || capacity > 1 << 24) {
      throw new StatsArgumentError(`TopK capacity must be an integer in [k, 2^24], got ${capacity}`);
    }
    if (options.decay) {
      const { intervalMs, factor } = options.decay;
      if (!(intervalMs > 0) || !Number.isFinite(intervalMs))
        throw new StatsArgumentError(`TopK decay.intervalMs must be a finite number > 0, got ${intervalMs}`);
      checkFactor(factor);
    }
    this.k = k;
    this.capacity = capacity;
    this.decayEvery = options.decay ? { ...options.decay } : null;
    this.clock = options.clock ?? systemClock;
    this.lastDecayAt = this.clock.now();
  }

  /** Keys monitored now (≤ capacity). */
  get size(): number {
    return this.heap.length;
  }

  /** The (decayed) sum of all weights offered. */
  get total(): number {
    this.applyScheduledDecay();
    return this.offered;
  }

  /**
   * Counts one occurrence of `key`, or `weight` occurrences (a finite number > 0). One map
   * lookup for a monitored key; a newcomer also swaps the smallest counter's key in the map.
   * Allocates nothing once `capacity` keys have been seen.
   */
  offer(key: string, weight = 1): void {
    if (!(weight > 0) || !Number.isFinite(weight)) throw new StatsArgumentError(`TopK offer weight must be a finite number > 0, got ${weight}`);
    this.applyScheduledDecay();
    this.count(key, weight);
  }

  /**
   * Counts one occurrence of each of `keys` (a key listed twice counts twice), as many `offer`s
   * at one instant would: the decay schedule is checked once (one clock read for the lot).
   */
  offerAll(keys: readonly string[]): void {
    this.applyScheduledDecay();
    for (let i = 0; i < keys.length; i++) this.count(keys[i], 1);
  }

  private count(key: string, weight: number): void {
    this.offered += weight;
    const counter = this.counters.get(key);
    if (counter !== undefined) {
      counter.count += weight;
      this.siftDown(counter);
      return;
    }
    const { heap } = this;
    if (heap.length < this.capacity) {
      const added: Counter = { key, count: weight, error: 0, slot: heap.length };
      heap.push(added);
      this.counters.set(key, added);
      this.siftUp(added);
      return;
    }
    // Space-Saving: the newcomer takes the smallest counter and inherits its count as error.
    const smallest = heap[0];
    this.counters.delete(smallest.key);
    smallest.key = key;
    smallest.error = smallest.count;
    smallest.count += weight;
    this.counters.set(key, smallest);
    this.siftDown(smallest);
  }

  /** The `n` (default `k`) keys with the highest counts, highest first. */
  top(n = this.k): TopKEntry[] {
    if (!(n >= 0) || !Number.isInteger(n)) throw new StatsArgumentError(`TopK top(n) needs an integer n ≥ 0, got ${n}`);
    this.applyScheduledDecay();
    const order = [...this.heap].sort((a, b) => b.count - a.count || a.error - b.error);
    return order.slice(0, n).map(({ key, count, error }) => ({ key, count, error }));
  }

  /** The estimate for one key, or `undefined` when it is not monitored. */
  estimate(key: string): TopKEntry | undefined {
    this.applyScheduledDecay();
    const counter = this.counters.get(key);
    return counter === undefined ? undefined : { key, count: counter.count, error: counter.error };
  }

  /** Multiplies every count and error by `factor` in (0, 1]. */
  decay(factor: number): void {
    checkFactor(factor);
    for (const counter of this.heap) {
      counter.count *= factor;
      counter.error *= factor;
    }
    this.offered *= factor;
  }

  /** Forgets every key. */
  reset(): void {
    this.heap.length = 0;
    this.counters.clear();
    this.offered = 0;
    this.lastDecayAt = this.clock.now();
  }

  private applyScheduledDecay(): void {
    if (!this.decayEvery) return;
    const elapsed = this.clock.now() - this.lastDecayAt;
    const periods = Math.floor(elapsed / this.decayEvery.intervalMs);
    if (periods <= 0) return;
    this.lastDecayAt += periods * this.decayEvery.intervalMs;
    // After a long idle spell factor^periods underflows; (almost) zero is the right answer then.
    this.decay(this.decayEvery.factor ** periods || Number.MIN_VALUE);
  }

  private siftUp(counter: Counter): void {
    const { heap } = this;
    let slot = counter.slot;
    while (slot > 0) {
      const parentSlot = (slot - 1) >> 1;
      const parent = heap[parentSlot];
      if (parent.count <= counter.count) break;
      heap[slot] = parent;
      parent.slot = slot;
      slot = parentSlot;
    }
    heap[slot] = counter;
    counter.slot = slot;
  }

  private siftDown(counter: Counter): void {
    const { heap } = this;
    const size = heap.length;
    let slot = counter.slot;
    for (;;) {
      const left = 2 * slot + 1;
      if (left >= size) break;
      const right = left + 1;
      const childSlot = right < size && heap[right].count < heap[left].count ? right : left;
      const child = heap[childSlot];
      if (child.count >= counter.count) break;
      heap[slot] = child;
      child.slot = slot;
      slot = childSlot;
    }
    heap[slot] = counter;
    counter.slot = slot;
  }
}

function isPositiveInteger(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0;
}

function checkFactor(factor: number): void {
  if (!(factor > 0 && factor <= 1)) throw new StatsArgumentError(`a decay factor must be in (0, 1], got ${factor}`);
}
