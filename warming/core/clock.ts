/** Time, injected so scheduling, leases and retries are tested with a fake clock. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` (a fake clock may resolve at once and advance itself). */
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * A clock that only moves when told to; `sleep` advances it instantly.
 *
 * @example
 * const clock = manualClock(Date.UTC(2025, 2, 30));
 * clock.advance(60_000);
 */
export function manualClock(start: number): Clock & { advance(ms: number): void; set(epochMs: number): void } {
  let now = start;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += Math.max(0, ms);
    },
    advance: (ms) => {
      now += ms;
    },
    set: (epochMs) => {
      now = epochMs;
    },
  };
}
