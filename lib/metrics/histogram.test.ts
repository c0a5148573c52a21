import { describe, expect, test } from "vitest";
import { SketchMismatchError, StatsArgumentError } from "./errors.ts";
import { LatencyHistogram, type HistogramJSON } from "./histogram.ts";
import { seededRandom } from "../random.ts";

const QUANTILES = [0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999, 1];
const SAMPLES = 1_000_000;

/** Standard normal draws (Box–Muller) from a seeded uniform source. */
function normal(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

const distributions: [string, (random: () => number) => () => number][] = [
  ["uniform on [0.5, 2000] ms", (random) => () => 0.5 + random() * 1999.5],
  [
    "lognormal (median 20 ms, σ 1.2)",
    (random) => {
      const z = normal(random);
      return () => Math.exp(Math.log(20) + 1.2 * z());
    },
  ],
  [
    "bimodal (L1 hits near 0.05 ms, origin loads near 150 ms)",
    (random) => {
      const z = normal(random);
      return () => (random() < 0.8 ? Math.abs(0.05 + 0.01 * z()) : Math.abs(150 + 40 * z()));
    },
  ],
];

/** The exact value at rank floor(q * (n - 1)) of the sorted samples. */
function exactQuantile(sorted: Float64Array, q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))];
}

function sample(make: (random: () => number) => () => number, n: number, seed: number): Float64Array {
  const next = make(seededRandom(seed));
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = next();
  return values;
}

describe("LatencyHistogram accuracy", () => {
  test.each(distributions)("on 1,000,000 samples, %s: every quantile is within 1%% of the exact one", (_name, make) => {
    const values = sample(make, SAMPLES, 11);
    const histogram = new LatencyHistogram({ relativeAccuracy: 0.01 });
    for (const value of values) histogram.record(value);
    const sorted = values.slice().sort();
    for (const q of QUANTILES) {
      const exact = exactQuantile(sorted, q);
      const estimate = histogram.quantile(q);
      expect(Math.abs(estimate - exact) / exact, `q=${q}: estimate ${estimate}, exact ${exact}`).toBeLessThanOrEqual(0.01 + 1e-12);
    }
    expect(histogram.count).toBe(SAMPLES);
    expect(histogram.min).toBe(sorted[0]);
    expect(histogram.max).toBe(sorted[SAMPLES - 1]);
    expect(histogram.sum).toBeCloseTo(
      values.reduce((a, b) => a + b, 0),
      3,
    );
    expect(histogram.bucketCount).toBeLessThanOrEqual(histogram.maxBuckets);
  });

  test("a coarser accuracy is honoured too, with fewer buckets", () => {
    const values = sample(distributions[1][1], 200_000, 5);
    const fine = new LatencyHistogram();
    const coarse = new LatencyHistogram({ relativeAccuracy: 0.05 });
    for (const value of values) {
      fine.record(value);
      coarse.record(value);
    }
    const sorted = values.slice().sort();
    for (const q of QUANTILES) {
      const exact = exactQuantile(sorted, q);
      expect(Math.abs(coarse.quantile(q) - exact) / exact).toBeLessThanOrEqual(0.05 + 1e-12);
    }
    expect(coarse.bucketCount).toBeLessThan(fine.bucketCount / 4);
  });
});

describe("LatencyHistogram merging and serialization", () => {
  test("merging the sketches of four instances equals one sketch of all their samples", () => {
    const values = sample(distributions[2][1], 400_000, 3);
    const whole = new LatencyHistogram();
    const parts = [0, 1, 2, 3].map(() => new LatencyHistogram());
    values.forEach((value, i) => {
      whole.record(value);
      parts[i % 4].record(value);
    });
    const merged = parts.reduce((into, part) => into.merge(part), new LatencyHistogram());
    expect(merged.quantiles(QUANTILES)).toEqual(whole.quantiles(QUANTILES));
    const { sum: mergedSum, ...mergedRest } = merged.toJSON();
    const { sum: wholeSum, ...wholeRest } = whole.toJSON();
    expect(mergedRest).toEqual(wholeRest);
    expect(mergedSum).toBeCloseTo(wholeSum, 3);
  });

  test("merging an empty sketch changes nothing, and the argument is left as it was", () => {
    const a = new LatencyHistogram();
    a.record(5);
    const before = a.toJSON();
    a.merge(new LatencyHistogram());
    expect(a.toJSON()).toEqual(before);
    const b = new LatencyHistogram();
    b.merge(a);
    expect(a.toJSON()).toEqual(before);
    expect(b.toJSON()).toEqual(before);
  });

  test("sketches of different accuracy refuse to merge", () => {
    expect(() => new LatencyHistogram().merge(new LatencyHistogram({ relativeAccuracy: 0.02 }))).toThrow(SketchMismatchError);
  });

  test("survives a JSON round trip with identical answers", () => {
    const histogram = new LatencyHistogram();
    for (const value of sample(distributions[1][1], 50_000, 9)) histogram.record(value);
    histogram.record(0, 3);
    const copy = LatencyHistogram.fromJSON(JSON.parse(JSON.stringify(histogram)));
    expect(copy.toJSON()).toEqual(histogram.toJSON());
    expect(copy.quantiles(QUANTILES)).toEqual(histogram.quantiles(QUANTILES));
  });

  test("an empty sketch round-trips too", () => {
    const copy = LatencyHistogram.fromJSON(JSON.parse(JSON.stringify(new LatencyHistogram())));
    expect(copy.count).toBe(0);
    expect(copy.quantile(0.5)).toBeNaN();
  });

  const valid = (): HistogramJSON => {
    const histogram = new LatencyHistogram();
    histogram.record(1);
    histogram.record(10);
    return histogram.toJSON();
  };
  test.each<[string, unknown]>([
    ["not an object", "p99=3"],
    ["null", null],
    ["a missing relativeAccuracy", { ...valid(), relativeAccuracy: undefined }],
    ["a relativeAccuracy of 1", { ...valid(), relativeAccuracy: 1 }],
    ["a fractional offset", { ...valid(), offset: 1.5 }],
    ["counts that are not an array", { ...valid(), counts: "1,2" }],
    ["a negative bucket count", { ...valid(), counts: [-1] }],
    ["a count that disagrees with the buckets", { ...valid(), count: 3 }],
    ["more counts than maxBuckets", { ...valid(), maxBuckets: 16, counts: Array(17).fill(0) }],
    ["a max below min", { ...valid(), min: 10, max: 1 }],
  ])("fromJSON refuses %s", (_label, json) => {
    expect(() => LatencyHistogram.fromJSON(json)).toThrow(StatsArgumentError);
  });
});

describe("LatencyHistogram edge cases", () => {
  test("memory stays within maxBuckets over 24 orders of magnitude, and the tail stays accurate", () => {
    const histogram = new LatencyHistogram({ maxBuckets: 256 });
    const random = seededRandom(4);
    const values = new Float64Array(100_000);
    for (let i = 0; i < values.length; i++) values[i] = 10 ** (random() * 24 - 12);
    for (const value of values) histogram.record(value);
    expect(histogram.bucketCount).toBeLessThanOrEqual(256);
    const sorted = values.slice().sort();
    // 256 buckets at 1% cover about 2.2 decades: the top ones are exact to 1%.
    for (const q of [0.95, 0.99, 0.999, 1]) {
      const exact = exactQuantile(sorted, q);
      expect(Math.abs(histogram.quantile(q) - exact) / exact).toBeLessThanOrEqual(0.01 + 1e-12);
    }
    // The collapsed low end reports the lowest bucket kept, never less than the true value.
    expect(histogram.quantile(0.01)).toBeGreaterThanOrEqual(exactQuantile(sorted, 0.01));
  });

  test("values recorded from high to low collapse the same way", () => {
    const histogram = new LatencyHistogram({ maxBuckets: 64 });
    for (let exp = 12; exp >= -12; exp -= 0.01) histogram.record(10 ** exp);
    expect(histogram.bucketCount).toBeLessThanOrEqual(64);
    expect(Math.abs(histogram.quantile(1) - 1e12) / 1e12).toBeLessThanOrEqual(0.01);
  });

  test("zero and negative durations count as 0", () => {
    const histogram = new LatencyHistogram();
    histogram.record(0);
    histogram.record(-3);
    histogram.record(8);
    expect(histogram.quantiles([0, 0.5, 1])).toEqual([0, 0, 8]);
    expect(histogram.min).toBe(0);
    expect(histogram.mean).toBeCloseTo(8 / 3);
  });

  test("a count records the value that many times", () => {
    const histogram = new LatencyHistogram();
    histogram.record(1, 99);
    histogram.record(1_000);
    expect(histogram.quantile(0.5)).toBeCloseTo(1, 1);
    expect(histogram.quantile(1)).toBe(1_000);
    expect(histogram.count).toBe(100);
  });

  test("an empty sketch answers NaN, and reset empties a sketch", () => {
    const histogram = new LatencyHistogram();
    expect([histogram.quantile(0.5), histogram.min, histogram.max, histogram.mean]).toEqual([NaN, NaN, NaN, NaN]);
    histogram.record(4);
    histogram.reset();
    expect(histogram.count).toBe(0);
    expect(histogram.bucketCount).toBe(0);
    histogram.record(2);
    expect(histogram.quantile(0.5)).toBe(2);
  });

  test.each<[string, () => unknown]>([
    ["a NaN value", () => new LatencyHistogram().record(NaN)],
    ["an infinite value", () => new LatencyHistogram().record(Infinity)],
    ["a zero count", () => new LatencyHistogram().record(1, 0)],
    ["a quantile above 1", () => new LatencyHistogram().quantile(1.5)],
    ["a relative accuracy of 0", () => new LatencyHistogram({ relativeAccuracy: 0 })],
    ["maxBuckets below 16", () => new LatencyHistogram({ maxBuckets: 8 })],
  ])("refuses %s", (_label, call) => {
    expect(call).toThrow(StatsArgumentError);
  });
});
