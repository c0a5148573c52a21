/**
 * A mergeable latency histogram with a relative-error guarantee, after DDSketch (Masson, Rim and
 * Lee, VLDB 2019). Every cache-manager instance records into one and flushes it each second;
 * monitoring merges the instances' sketches into cluster-wide percentiles. Exact percentiles
 * cannot be merged; averages of per-instance p99s are wrong; this can and is not.
 *
 * - Buckets are logarithmic: a value `x > 0` lands in bucket `ceil(log_γ x)` with
 *   `γ = (1 + α) / (1 - α)`, and each bucket answers with the point whose relative distance to
 *   both of its bounds is `α`. So `quantile(q)` is within a relative `α` (default 1%) of the exact
 *   value at rank `floor(q * (count - 1))`, whatever the distribution.
 * - Memory is bounded: at most `maxBuckets` (default 2048, which at 1% spans 17 orders of
 *   magnitude) counters in one dense `Float64Array`. Beyond that the lowest buckets are merged,
 *   so only the lowest quantiles lose accuracy: the tail, which is what latency alerts read, never
 *   does.
 * - `record` is a logarithm, a bounds check and an array increment; it allocates nothing once the
 *   range of values seen has settled.
 * - Values ≤ 0 go to a zero bucket (a clock stepping back makes a negative duration, counted as
 *   0). NaN and ±Infinity are refused.
 * - Merging needs the same `relativeAccuracy`; `toJSON`/`fromJSON` carry a sketch between
 *   processes, and `fromJSON` validates what it is given.
 *
 * @example
 * const latency = new LatencyHistogram();            // 1% relative accuracy
 * latency.record(performance.now() - started);
 * cluster.merge(LatencyHistogram.fromJSON(payload));  // another instance's sketch
 * cluster.quantile(0.99);                             // p99 within 1%
 */
import { SketchMismatchError, StatsArgumentError } from "./errors.ts";

export interface HistogramOptions {
  /** The relative error α of every quantile, in (0, 1); default 0.01. */
  relativeAccuracy?: number;
  /** The most buckets kept, an integer in [16, 65536]; default 2048. */
  maxBuckets?: number;
}

/** The wire form: plain JSON numbers, dense counts from bucket `offset` upwards. */
export interface HistogramJSON {
  relativeAccuracy: number;
  maxBuckets: number;
  count: number;
  sum: number;
  /** `null` when empty (JSON has no Infinity). */
  min: number | null;
  max: number | null;
  zeroCount: number;
  /** The bucket index of `counts[0]`. */
  offset: number;
  counts: number[];
}

/** Counts per logarithmic bucket over a window of at most `maxBins` indices. */
class CollapsingLowestStore {
  bins = new Float64Array(0);
  /** The bucket index of `bins[0]`. */
  offset = 0;
  /** The occupied range; meaningful only when `total > 0`. */
  minIndex = 0;
  maxIndex = 0;
  total = 0;

  constructor(readonly maxBins: number) {}

  add(index: number, n: number): void {
    if (this.total === 0) {
      this.ensureRange(index, index);
      this.minIndex = this.maxIndex = index;
    } else if (index < this.minIndex) {
      // Too far below the top: fold into the lowest bucket the window allows.
      index = Math.max(index, this.maxIndex - this.maxBins + 1);
      if (index < this.minIndex) {
        this.ensureRange(index, this.maxIndex);
        this.minIndex = index;
      }
    } else if (index > this.maxIndex) {
      const lowest = index - this.maxBins + 1;
      if (lowest > this.minIndex) this.collapseBelow(lowest);
      this.ensureRange(this.minIndex, index);
      this.maxIndex = index;
    }
    this.bins[index - this.offset] += n;
    this.total += n;
  }

  get(index: number): number {
    return this.bins[index - this.offset];
  }

  clear(): void {
    this.bins = new Float64Array(0);
    this.offset = 0;
    this.total = 0;
  }

  /** Moves the counts of every bucket below `lowest` into bucket `lowest`. */
  private collapseBelow(lowest: number): void {
    let moved = 0;
    const top = Math.min(this.maxIndex, lowest - 1);
    for (let i = this.minIndex; i <= top; i++) {
      moved += this.bins[i - this.offset];
      this.bins[i - this.offset] = 0;
    }
    this.minIndex = lowest;
    if (this.maxIndex < lowest) this.maxIndex = lowest;
    this.ensureRange(this.minIndex, this.maxIndex);
    this.bins[lowest - this.offset] += moved;
  }

  /** Makes `bins` cover [lo, hi] (a span of at most `maxBins`), keeping the counts inside it. */
  private ensureRange(lo: number, hi: number): void {
    if (lo >= this.offset && hi < this.offset + this.bins.length) return;
    const needed = hi - lo + 1;
    const length = Math.min(this.maxBins, Math.max(needed * 2, 64));
    const offset = lo - Math.floor((length - needed) / 2);
    const bins = new Float64Array(length);
    // Copy the overlap of the old window; counts outside [lo, hi] are zero by construction.
    const from = Math.max(offset, this.offset);
    const to = Math.min(offset + length, this.offset + this.bins.length);
    if (from < to) bins.set(this.bins.subarray(from - this.offset, to - this.offset), from - offset);
    this.bins = bins;
    this.offset = offset;
  }
}

export class LatencyHistogram {
  readonly relativeAccuracy: number;
  readonly maxBuckets: number;
  private readonly gamma: number;
  /** 1 / ln γ: turns a natural logarithm into a bucket index. */
  private readonly multiplier: number;
  private readonly store: CollapsingLowestStore;
  private zeroCount = 0;
  private total = 0;
  private sumOfValues = 0;
  private minValue = Infinity;
  private maxValue = -Infinity;

  constructor(options: HistogramOptions = {}) {
    const alpha = options.relativeAccuracy ?? 0.01;
    const maxBuckets = options.maxBuckets ?? 2048;
    if (!(alpha > 0 && alpha < 1)) throw new StatsArgumentError(`relativeAccuracy must be in (0, 1), got ${alpha}`);
    if (!Number.isInteger(maxBuckets) || maxBuckets < 16 || maxBuckets > 65536) {
      throw new StatsArgumentError(`maxBuckets must be an integer in [16, 65536], got ${maxBuckets}`);
    }
    this.relativeAccuracy = alpha;
    this.maxBuckets = maxBuckets;
    this.gamma = (1 + alpha) / (1 - alpha);
    this.multiplier = 1 / Math.log(this.gamma);
    this.store = new CollapsingLowestStore(maxBuckets);
  }

  get count(): number {
    return this.total;
  }

  get sum(): number {
    return this.sumOfValues;
  }

  /** The smallest value recorded (exact), or NaN when empty. */
  get min(): number {
    return this.total === 0 ? NaN : this.minValue;
  }

  /** The largest value recorded (exact), or NaN when empty. */
  get max(): number {
    return this.total === 0 ? NaN : this.maxValue;
  }

  get mean(): number {
    return this.total === 0 ? NaN : this.sumOfValues / this.total;
  }

  /** Buckets spanned now (≤ `maxBuckets`), a measure of the memory in use. */
  get bucketCount(): number {
    return this.store.total === 0 ? 0 : this.store.maxIndex - this.store.minIndex + 1;
  }

  /** Records `value` (milliseconds, finite) `count` times (a finite number > 0). */
  record(value: number, count = 1): void {
    if (!Number.isFinite(value)) throw new StatsArgumentError(`a histogram value must be finite, got ${value}`);
    if (count !== 1 && !(count > 0 && Number.isFinite(count))) throw new StatsArgumentError(`a histogram count must be a finite number > 0, got ${count}`);
    if (value > 0) {
      this.store.add(Math.ceil(Math.log(value) * this.multiplier), count);
    } else {
      value = 0;
      this.zeroCount += count;
    }
    this.total += count;
    this.sumOfValues += value * count;
    if (value < this.minValue) this.minValue = value;
    if (value > this.maxValue) this.maxValue = value;
  }

  /**
   * The value at quantile `q` in [0, 1], within `relativeAccuracy` of the exact value at rank
   * `floor(q * (count - 1))` of the sorted values (exact for 0 and 1: the minimum and maximum);
   * NaN when empty.
   */
  quantile(q: number): number {
    if (!(q >= 0 && q <= 1)) throw new StatsArgumentError(`a quantile must be in [0, 1], got ${q}`);
    if (this.total === 0) return NaN;
    // The extremes are known exactly.
    if (q === 0) return this.minValue;
    if (q === 1) return this.maxValue;
    const rank = q * (this.total - 1);
    let cumulative = this.zeroCount;
    if (cumulative > rank) return 0;
    const { minIndex, maxIndex } = this.store;
    for (let index = minIndex; index <= maxIndex; index++) {
      cumulative += this.store.get(index);
      if (cumulative > rank) return Math.min(this.maxValue, Math.max(this.minValue, this.bucketValue(index)));
    }
    return this.maxValue;
  }

  /** Several quantiles in one call, in the order given. */
  quantiles(qs: readonly number[]): number[] {
    return qs.map((q) => this.quantile(q));
  }

  /**
   * Adds `other`'s values to this histogram (`other` is unchanged).
   *
   * @throws SketchMismatchError when the relative accuracies differ.
   */
  merge(other: LatencyHistogram): this {
    if (other.relativeAccuracy !== this.relativeAccuracy) {
      throw new SketchMismatchError(`cannot merge a histogram of relative accuracy ${other.relativeAccuracy} into one of ${this.relativeAccuracy}`);
    }
    if (other.total === 0) return this;
    const { minIndex, maxIndex } = other.store;
    if (other.store.total > 0) {
      for (let index = minIndex; index <= maxIndex; index++) {
        const n = other.store.get(index);
        if (n > 0) this.store.add(index, n);
      }
    }
    this.zeroCount += other.zeroCount;
    this.total += other.total;
    this.sumOfValues += other.sumOfValues;
    this.minValue = Math.min(this.minValue, other.minValue);
    this.maxValue = Math.max(this.maxValue, other.maxValue);
    return this;
  }

  /**
   * Removes `earlier`'s values from this histogram: the values recorded between two cumulative
   * snapshots of one instance (`now.clone().subtract(before)`), for rates and recent percentiles.
   * Buckets never go below zero (a reset or a collapsed range is clamped); min and max stay those
   * of this histogram, so they bound the difference rather than equal its extremes.
   *
   * @throws SketchMismatchError when the relative accuracies differ.
   */
  subtract(earlier: LatencyHistogram): this {
    if (earlier.relativeAccuracy !== this.relativeAccuracy) {
      throw new SketchMismatchError(`cannot subtract a histogram of relative accuracy ${earlier.relativeAccuracy} from one of ${this.relativeAccuracy}`);
    }
    if (earlier.total === 0 || this.total === 0) return this;
    if (earlier.total >= this.total) {
      // Nothing new (or a restart: the earlier snapshot is not a prefix of this one).
      if (earlier.total === this.total) this.reset();
      return this;
    }
    let removed = Math.min(this.zeroCount, earlier.zeroCount);
    this.zeroCount -= removed;
    if (earlier.store.total > 0 && this.store.total > 0) {
      for (let index = earlier.store.minIndex; index <= earlier.store.maxIndex; index++) {
        let n = earlier.store.get(index);
        if (n <= 0) continue;
        // Buckets this histogram has collapsed live in its lowest bucket now.
        const target = Math.min(this.store.maxIndex, Math.max(index, this.store.minIndex));
        n = Math.min(n, this.store.get(target));
        this.store.add(target, -n);
        removed += n;
      }
    }
    this.total -= removed;
    this.sumOfValues = Math.max(0, this.sumOfValues - earlier.sumOfValues);
    if (this.total <= 0) this.reset();
    return this;
  }

  /**
   * How many recorded values are at most `value` (within the relative accuracy: a bucket counts
   * when its representative value is ≤ `value`). Prometheus histogram buckets come from this.
   */
  countAtMost(value: number): number {
    if (Number.isNaN(value)) throw new StatsArgumentError(`countAtMost needs a number, got ${value}`);
    if (this.total === 0 || value < 0) return 0;
    if (value >= this.maxValue) return this.total;
    let count = this.zeroCount;
    if (this.store.total === 0) return count;
    for (let index = this.store.minIndex; index <= this.store.maxIndex; index++) {
      if (this.bucketValue(index) > value) break;
      count += this.store.get(index);
    }
    return count;
  }

  /** An independent copy. */
  clone(): LatencyHistogram {
    return LatencyHistogram.fromJSON(this.toJSON());
  }

  /** Empties the histogram, keeping its parameters. */
  reset(): void {
    this.store.clear();
    this.zeroCount = 0;
    this.total = 0;
    this.sumOfValues = 0;
    this.minValue = Infinity;
    this.maxValue = -Infinity;
  }

  toJSON(): HistogramJSON {
    const counts: number[] = [];
    if (this.store.total > 0) for (let i = this.store.minIndex; i <= this.store.maxIndex; i++) counts.push(this.store.get(i));
    return {
      relativeAccuracy: this.relativeAccuracy,
      maxBuckets: this.maxBuckets,
      count: this.total,
      sum: this.sumOfValues,
      min: this.total === 0 ? null : this.minValue,
      max: this.total === 0 ? null : this.maxValue,
      zeroCount: this.zeroCount,
      offset: this.store.total > 0 ? this.store.minIndex : 0,
      counts,
    };
  }

  /**
   * Rebuilds a histogram from `toJSON()` output, e.g. received from another instance.
   *
   * @throws StatsArgumentError naming the first field that is malformed or inconsistent.
   */
  static fromJSON(json: unknown): LatencyHistogram {
    const fail = (what: string): never => {
      throw new StatsArgumentError(`invalid histogram JSON: ${what}`);
    };
    if (typeof json !== "object" || json === null) return fail("expected an object");
    const data = json as Partial<Record<keyof HistogramJSON, unknown>>;
    const finite = (name: keyof HistogramJSON, min = -Infinity): number => {
      const value = data[name];
      if (typeof value !== "number" || !Number.isFinite(value) || value < min) return fail(`${name} must be a finite number ≥ ${min}`);
      return value;
    };
    const histogram = new LatencyHistogram({ relativeAccuracy: finite("relativeAccuracy"), maxBuckets: finite("maxBuckets") });
    const count = finite("count", 0);
    const zeroCount = finite("zeroCount", 0);
    const offset = finite("offset");
    if (!Number.isSafeInteger(offset)) fail("offset must be an integer");
    const counts = data.counts;
    if (!Array.isArray(counts) || counts.length > histogram.maxBuckets) fail(`counts must be an array of at most maxBuckets numbers`);
    let bucketTotal = 0;
    for (const n of counts as unknown[]) {
      if (typeof n !== "number" || !Number.isFinite(n) || n < 0) fail("counts must hold finite numbers ≥ 0");
      bucketTotal += n as number;
    }
    if (Math.abs(zeroCount + bucketTotal - count) > 1e-9 * Math.max(1, count)) fail("count differs from zeroCount plus the bucket counts");
    if (count === 0) return histogram;
    const min = finite("min", 0);
    const max = finite("max", min);
    (counts as number[]).forEach((n, i) => {
      if (n > 0) histogram.store.add(offset + i, n);
    });
    histogram.zeroCount = zeroCount;
    histogram.total = count;
    histogram.sumOfValues = finite("sum", 0);
    histogram.minValue = min;
    histogram.maxValue = max;
    return histogram;
  }

  /** The point of bucket `index` at relative distance α from both of its bounds. */
  private bucketValue(index: number): number {
    return (2 * Math.pow(this.gamma, index)) / (1 + this.gamma);
  }
}
