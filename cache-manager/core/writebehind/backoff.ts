/** Retry delays for failed origin writes. */

export interface BackoffOptions {
  /** Delay before the first retry (before jitter). */
  minMs: number;
  /** Cap on any delay. */
  maxMs: number;
}

/**
 * The delay before retry number `attempt` (1 = first retry): `minMs · 2^(attempt-1)`, capped at
 * `maxMs`, then "equal jitter" — a uniform pick in [delay/2, delay] — so retries of many keys that
 * failed together do not hit the origin together again.
 *
 * @example backoffDelay(3, { minMs: 100, maxMs: 10_000 }, () => 1) // → 400
 */
export function backoffDelay(attempt: number, { minMs, maxMs }: BackoffOptions, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 52);
  const capped = Math.min(maxMs, minMs * 2 ** exponent);
  return Math.round(capped / 2 + (random() * capped) / 2);
}
