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
 * - Cost: `offer` is O(log capacity) (an indexed min-heap on count, plus a map key → slot) and
 *   allocates nothing for keys already monitored; `top(n)` sorts the counters, O(capacity log
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

export class TopK {
  readonly k: number;
  readonly capacity: number;
  private readonly decayEvery: { intervalMs: number; factor: number } | null;
  private readonly clock: Clock;
  private lastDecayAt: number;

  /** Heap slot → key / count / error; slot 0 holds the smallest count. */
  private readonly keys: string[] = [];
  private readonly counts: Float64Array;
  private readonly errors: Float64Array;
  /** Key → heap slot. */
  private readonly slots = new Map<string, number>();
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
    this.counts = new Float64Array(capacity);
    this.errors = new Float64Array(capacity);
  }

  /** Keys monitored now (≤ capacity). */
  get size(): number {
    return this.keys.length;
  }

  /** The (decayed) sum of all weights offered. */
  get total(): number {
    this.applyScheduledDecay();
    return this.offered;
  }

  /** Counts one occurrence of `key`, or `weight` occurrences (a finite number > 0). */
  offer(key: string, weight = 1): void {
    if (!(weight > 0) || !Number.isFinite(weight)) throw new StatsArgumentError(`TopK offer weight must be a finite number > 0, got ${weight}`);
    this.applyScheduledDecay();
    this.offered += weight;
    const slot = this.slots.get(key);
    if (slot !== undefined) {
      this.counts[slot] += weight;
      this.siftDown(slot);
      return;
    }
    if (this.keys.length < this.capacity) {
      const last = this.keys.length;
      this.keys.push(key);
      this.counts[last] = weight;
      this.errors[last] = 0;
      this.slots.set(key, last);
      this.siftUp(last);
      return;
    }
    // Space-Saving: the newcomer takes the smallest counter and inherits its count as error.
    this.slots.delete(this.keys[0]);
    this.keys[0] = key;
    this.slots.set(key, 0);
    this.errors[0] = this.counts[0];
    this.counts[0] += weight;
    this.siftDown(0);
  }

  /** The `n` (default `k`) keys with the highest counts, highest first. */
  top(n = this.k): TopKEntry[] {
    if (!(n >= 0) || !Number.isInteger(n)) throw new StatsArgumentError(`TopK top(n) needs an integer n ≥ 0, got ${n}`);
    this.applyScheduledDecay();
    const order = Array.from(this.keys.keys());
    order.sort((a, b) => this.counts[b] - this.counts[a] || this.errors[a] - this.errors[b]);
    return order.slice(0, n).map((slot) => ({ key: this.keys[slot], count: this.counts[slot], error: this.errors[slot] }));
  }

  /** The estimate for one key, or `undefined` when it is not monitored. */
  estimate(key: string): TopKEntry | undefined {
    this.applyScheduledDecay();
    const slot = this.slots.get(key);
    return slot === undefined ? undefined : { key, count: this.counts[slot], error: this.errors[slot] };
  }

  /** Multiplies every count and error by `factor` in (0, 1]. */
  decay(factor: number): void {
    checkFactor(factor);
    for (let slot = 0; slot < this.keys.length; slot++) {
      this.counts[slot] *= factor;
      this.errors[slot] *= factor;
    }
    this.offered *= factor;
  }

  /** Forgets every key. */
  reset(): void {
    this.keys.length = 0;
    this.slots.clear();
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

  private siftUp(slot: number): void {
    while (slot > 0) {
      const parent = (slot - 1) >> 1;
      if (this.counts[parent] <= this.counts[slot]) return;
      this.swap(slot, parent);
      slot = parent;
    }
  }

  private siftDown(slot: number): void {
    const size = this.keys.length;
    for (;;) {
      const left = 2 * slot + 1;
      const right = left + 1;
      let smallest = slot;
      if (left < size && this.counts[left] < this.counts[smallest]) smallest = left;
      if (right < size && this.counts[right] < this.counts[smallest]) smallest = right;
      if (smallest === slot) return;
      this.swap(slot, smallest);
      slot = smallest;
    }
  }

  private swap(a: number, b: number): void {
    const key = this.keys[a];
    this.keys[a] = this.keys[b];
    this.keys[b] = key;
    const count = this.counts[a];
    this.counts[a] = this.counts[b];
    this.counts[b] = count;
    const error = this.errors[a];
    this.errors[a] = this.errors[b];
    this.errors[b] = error;
    this.slots.set(this.keys[a], a);
    this.slots.set(this.keys[b], b);
  }
}

function isPositiveInteger(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0;
}

function checkFactor(factor: number): void {
  if (!(factor > 0 && factor <= 1)) throw new StatsArgumentError(`a decay factor must be in (0, 1], got ${factor}`);
}
