/**
 * A small seeded pseudo-random generator (mulberry32) for reproducible sampling and tests: a run
 * that fails can be replayed from its seed. Not for anything security-related.
 *
 * @example
 * const random = seededRandom(42);
 * jitterTtl(60_000, 0.1, random); // the same result on every run
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
