/**
 * Small statistics and formatting helpers shared by the benchmark sections: medians over runs,
 * percentiles over latency samples (lib/metrics/percentile.ts), and compact number formats for tables.
 */
import { percentile } from "../../lib/metrics/percentile.ts";

/** The median (upper median for an even count); NaN for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

export interface Latency {
  p50: number;
  p99: number;
  max: number;
}

export function latencyOf(samples: ArrayLike<number>): Latency {
  let max = 0;
  for (let i = 0; i < samples.length; i++) if (samples[i] > max) max = samples[i];
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), max };
}

/** Medians of each field over several runs (max: the largest). */
export function medianLatency(runs: readonly Latency[]): Latency {
  return { p50: median(runs.map((r) => r.p50)), p99: median(runs.map((r) => r.p99)), max: Math.max(...runs.map((r) => r.max)) };
}

/** 1234567 → "1.23M", 12345 → "12.3k", 123 → "123". */
export function rate(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(2)}k`;
  return value.toFixed(0);
}

/** Milliseconds with a precision that suits their size. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  if (value < 0.1) return `${(value * 1000).toFixed(1)} µs`;
  if (value < 10) return `${value.toFixed(2)} ms`;
  if (value < 1000) return `${value.toFixed(1)} ms`;
  return `${(value / 1000).toFixed(2)} s`;
}

/** A ratio as "1.73×". */
export function times(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : "n/a";
}

export function bytes(value: number): string {
  if (value >= 1024 * 1024 * 1024) return `${(value / 1024 ** 3).toFixed(2)} GiB`;
  if (value >= 1024 * 1024) return `${(value / 1024 ** 2).toFixed(1)} MiB`;
  if (value >= 1024) return `${(value / 1024).toFixed(1)} KiB`;
  return `${value.toFixed(0)} B`;
}

export const sleep = (milliseconds: number) => new Promise<void>((resolve) => setTimeout(resolve, milliseconds));
