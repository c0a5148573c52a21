/**
 * The percentile of a list of samples, by nearest rank: the smallest sample with at least `p`% of
 * the samples at or below it. The one exact percentile helper for code that holds every sample
 * (benchmarks, the Lab, chaos scenarios, tests); live latencies go through the mergeable
 * `LatencyHistogram` (./histogram.ts) instead.
 *
 * @example
 * percentile([4, 3, 2, 1, 100], 99); // 100
 * percentile([1, 2, 3, 4], 50);      // 2
 */
export function percentile(values: ArrayLike<number>, p: number, empty = Number.NaN): number {
  if (values.length === 0) return empty;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
