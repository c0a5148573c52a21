/**
 * Seeded access traces for cache benchmarks. A trace is an `Int32Array` of key ids; turn ids into
 * key strings once, up front (`keyNames`), so a benchmark measures the cache and not string
 * building. Every generator is deterministic for a given seed, so runs are comparable.
 */

import { seededRandom } from "../../lib/random.ts";

export { seededRandom };

/**
 * Draws ranks `0 .. n-1` with P(rank k) ∝ 1 / (k+1)^alpha, by inverting a precomputed CDF with a
 * binary search: O(n) memory once, O(log n) per draw, exact for any alpha ≥ 0.
 */
export class ZipfGenerator {
  private readonly cdf: Float64Array;

  constructor(
    readonly n: number,
    readonly alpha: number,
    private readonly random: () => number,
  ) {
    this.cdf = new Float64Array(n);
    let total = 0;
    for (let rank = 0; rank < n; rank++) {
      total += 1 / Math.pow(rank + 1, alpha);
      this.cdf[rank] = total;
    }
    for (let rank = 0; rank < n; rank++) this.cdf[rank] /= total;
  }

  next(): number {
    const target = this.random();
    let low = 0;
    let high = this.n - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.cdf[middle] < target) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

export interface ZipfTraceOptions {
  keys: number;
  alpha: number;
  length: number;
  seed: number;
}

/** `length` draws from a Zipf distribution over `keys` ids; id 0 is the most popular. */
export function zipfTrace({ keys, alpha, length, seed }: ZipfTraceOptions): Int32Array {
  const zipf = new ZipfGenerator(keys, alpha, seededRandom(seed));
  const trace = new Int32Array(length);
  for (let i = 0; i < length; i++) trace[i] = zipf.next();
  return trace;
}

export interface ZipfWithScansOptions extends ZipfTraceOptions {
  /** Zipf accesses between two scans. */
  scanEvery: number;
  /** Ids per scan; each scan id is new and never accessed again. */
  scanLength: number;
}

/**
 * Zipf traffic interrupted every `scanEvery` accesses by a sequential scan of `scanLength` ids
 * that never recur (a batch job or crawler walking the key space). Scan ids start at `keys`.
 * `length` counts every access, scans included.
 */
export function zipfWithScansTrace({ keys, alpha, length, seed, scanEvery, scanLength }: ZipfWithScansOptions): Int32Array {
  const zipf = new ZipfGenerator(keys, alpha, seededRandom(seed));
  const trace = new Int32Array(length);
  let nextScanId = keys;
  let i = 0;
  while (i < length) {
    for (let j = 0; j < scanEvery && i < length; j++) trace[i++] = zipf.next();
    for (let j = 0; j < scanLength && i < length; j++) trace[i++] = nextScanId++;
  }
  return trace;
}

/** Cyclic access `0, 1, …, keys-1, 0, 1, …`: the case where LRU always evicts the next key needed. */
export function loopTrace({ keys, length }: { keys: number; length: number }): Int32Array {
  const trace = new Int32Array(length);
  for (let i = 0; i < length; i++) trace[i] = i % keys;
  return trace;
}

/** Ids drawn uniformly from `0 .. keys-1`. */
export function uniformTrace({ keys, length, seed }: { keys: number; length: number; seed: number }): Int32Array {
  const random = seededRandom(seed);
  const trace = new Int32Array(length);
  for (let i = 0; i < length; i++) trace[i] = Math.floor(random() * keys);
  return trace;
}

/** Key strings for ids `0 .. max(trace)`, built once: `names[id]`. */
export function keyNames(trace: Int32Array, prefix = "key:"): string[] {
  let max = 0;
  for (let i = 0; i < trace.length; i++) if (trace[i] > max) max = trace[i];
  return Array.from({ length: max + 1 }, (_, id) => `${prefix}${id}`);
}
