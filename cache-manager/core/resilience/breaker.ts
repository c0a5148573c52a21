/**
 * A circuit breaker for a dependency that fails as a whole (L2, an origin): after enough failures
 * it stops calling it for `openMs`, so requests fail in microseconds instead of each waiting out a
 * connection timeout, and the dependency gets room to recover.
 *
 * - **closed**: calls run; outcomes are counted. The breaker opens after `failureThreshold`
 *   consecutive failures, or, with a rate threshold, when the failure ratio over the last
 *   `windowMs` reaches `ratio` with at least `minCalls` calls in the window.
 * - **open**: `run` throws `BreakerOpenError` without calling `fn`. After `openMs` the next look at
 *   the breaker (a `run`, `state` or `stats()`) moves it to half-open; no timer is involved.
 * - **half-open**: up to `halfOpenMaxCalls` trial calls run; the rest are refused. The first trial
 *   failure reopens the breaker for another `openMs`; once all trials succeeded it closes.
 *
 * A call's outcome counts only in the state it started in: a slow call that started while closed
 * and fails after the breaker opened does not count as a failed trial. `isFailure` decides which
 * errors count (e.g. only `L2UnavailableError`, not a bad argument); the others pass through and
 * count as successes, since the dependency answered.
 *
 * @example
 * const breaker = new CircuitBreaker({ name: "l2", failureThreshold: 5, openMs: 2_000 });
 * breaker.onStateChange(({ to }) => events.emit("breaker", { name: "l2", state: to }));
 * const value = await breaker.run(() => l2.get(key)); // BreakerOpenError when open
 */
import { systemClock, type Clock } from "../../../lib/clock.ts";
import { promiseOf } from "../../../lib/concurrency.ts";
import { BreakerOpenError, ResilienceArgumentError } from "./errors.ts";

export type BreakerState = "closed" | "open" | "half-open";

/** Opens the breaker on a failure ratio over a sliding window instead of a consecutive count. */
export interface FailureRateThreshold {
  /** Failure ratio in (0, 1] that opens the breaker. */
  ratio: number;
  /** The sliding window's length in milliseconds. */
  windowMs: number;
  /** Calls the window must hold before the ratio counts (no opening on 1 failure of 1 call). */
  minCalls: number;
  /** Buckets the window is kept in (its time resolution); default 10. */
  buckets?: number;
}

export interface CircuitBreakerOptions {
  /** Names the breaker in errors and events; default `"breaker"`. */
  name?: string;
  /** Consecutive failures that open the breaker (a positive integer), or a rate threshold. */
  failureThreshold: number | FailureRateThreshold;
  /** How long the breaker stays open before admitting trial calls (ms, > 0). */
  openMs: number;
  /** Trial calls admitted while half-open; all must succeed to close. Default 1. */
  halfOpenMaxCalls?: number;
  /** Which errors count as failures; default: all. */
  isFailure?: (error: unknown) => boolean;
  clock?: Clock;
}

export interface BreakerStateChange {
  from: BreakerState;
  to: BreakerState;
  /** `clock.now()` at the transition. */
  at: number;
  /** The failure that opened the breaker, for `to: "open"`. */
  cause?: unknown;
}

export interface BreakerStats {
  name: string;
  state: BreakerState;
  consecutiveFailures: number;
  /** Calls and failures in the sliding window (rate thresholds only; otherwise zeros). */
  window: { calls: number; failures: number };
  /** Calls that ran, since construction. */
  calls: number;
  failures: number;
  /** Calls refused without running. */
  rejected: number;
  /** Times the breaker opened. */
  opened: number;
  /** When the state last changed (`clock.now()`). */
  since: number;
  /** While open: when trial calls will be admitted. */
  openUntil: number | null;
}

/** Success and failure counts over a sliding window kept as a ring of time buckets. */
class SlidingWindow {
  private readonly bucketMs: number;
  private readonly calls: Float64Array;
  private readonly failures: Float64Array;
  /** The absolute bucket number each slot currently holds. */
  private readonly epochs: Float64Array;

  constructor(windowMs: number, buckets: number) {
    this.bucketMs = windowMs / buckets;
    this.calls = new Float64Array(buckets);
    this.failures = new Float64Array(buckets);
    this.epochs = new Float64Array(buckets).fill(-Infinity);
  }

  record(now: number, failed: boolean): void {
    const epoch = Math.floor(now / this.bucketMs);
    const slot = ((epoch % this.calls.length) + this.calls.length) % this.calls.length;
    if (this.epochs[slot] !== epoch) {
      this.epochs[slot] = epoch;
      this.calls[slot] = 0;
      this.failures[slot] = 0;
    }
    this.calls[slot]++;
    if (failed) this.failures[slot]++;
  }

  totals(now: number): { calls: number; failures: number } {
    const oldest = Math.floor(now / this.bucketMs) - this.calls.length + 1;
    let calls = 0;
    let failures = 0;
    for (let slot = 0; slot < this.calls.length; slot++) {
      if (this.epochs[slot] >= oldest) {
        calls += this.calls[slot];
        failures += this.failures[slot];
      }
    }
    return { calls, failures };
  }

  clear(): void {
    this.epochs.fill(-Infinity);
  }
}

export class CircuitBreaker {
  readonly name: string;
  private readonly consecutiveLimit: number;
  private readonly rate: Required<FailureRateThreshold> | null;
  private readonly window: SlidingWindow | null;
  private readonly openMs: number;
  private readonly halfOpenMaxCalls: number;
  private readonly isFailure: (error: unknown) => boolean;
  private readonly clock: Clock;
  private readonly listeners = new Set<(change: BreakerStateChange) => void>();

  private current: BreakerState = "closed";
  /** Bumped on every transition; a call's outcome counts only in the generation it started in. */
  private generation = 0;
  private since: number;
  private openUntil = 0;
  private lastFailure: unknown;
  private consecutiveFailures = 0;
  private trialsStarted = 0;
  private trialsSucceeded = 0;
  private totals = { calls: 0, failures: 0, rejected: 0, opened: 0 };

  constructor(options: CircuitBreakerOptions) {
    this.name = options.name ?? "breaker";
    this.clock = options.clock ?? systemClock;
    this.isFailure = options.isFailure ?? (() => true);
    this.openMs = options.openMs;
    this.halfOpenMaxCalls = options.halfOpenMaxCalls ?? 1;
    if (!(this.openMs > 0) || !Number.isFinite(this.openMs)) throw new ResilienceArgumentError(`openMs must be a finite number > 0, got ${this.openMs}`);
    if (!isPositiveInteger(this.halfOpenMaxCalls))
      throw new ResilienceArgumentError(`halfOpenMaxCalls must be a positive integer, got ${this.halfOpenMaxCalls}`);
    const threshold = options.failureThreshold;
    if (typeof threshold === "number") {
      if (!isPositiveInteger(threshold)) throw new ResilienceArgumentError(`failureThreshold must be a positive integer or a rate threshold, got ${threshold}`);
      this.consecutiveLimit = threshold;
      this.rate = null;
      this.window = null;
    } else {
      const rate = { buckets: 10, ...threshold };
      if (!(rate.ratio > 0 && rate.ratio <= 1)) throw new ResilienceArgumentError(`failureThreshold.ratio must be in (0, 1], got ${rate.ratio}`);
      if (!(rate.windowMs > 0) || !Number.isFinite(rate.windowMs))
        throw new ResilienceArgumentError(`failureThreshold.windowMs must be a finite number > 0, got ${rate.windowMs}`);
      if (!isPositiveInteger(rate.minCalls)) throw new ResilienceArgumentError(`failureThreshold.minCalls must be a positive integer, got ${rate.minCalls}`);
      if (!isPositiveInteger(rate.buckets) || rate.buckets > 1000)
        throw new ResilienceArgumentError(`failureThreshold.buckets must be an integer in [1, 1000], got ${rate.buckets}`);
      this.consecutiveLimit = Infinity;
      this.rate = rate;
      this.window = new SlidingWindow(rate.windowMs, rate.buckets);
    }
    this.since = this.clock.now();
  }

  /** The current state (moving an expired open state to half-open first). */
  get state(): BreakerState {
    this.refresh();
    return this.current;
  }

  /**
   * Runs `fn` if the breaker admits it and records the outcome; rethrows `fn`'s error.
   *
   * @throws BreakerOpenError without calling `fn` when open, or half-open with every trial slot
   *   taken.
   */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    // One promise per call on the hot path (every L2 call runs here), not an async function's two.
    let generation: number;
    try {
      generation = this.admit();
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return promiseOf(fn).then(
      (value) => {
        this.settle(generation, false, undefined);
        return value;
      },
      (error: unknown) => {
        this.settle(generation, this.isFailure(error), error);
        throw error;
      },
    );
  }

  /**
   * Listens to transitions; returns a function that removes the listener. Listeners run
   * synchronously inside the transition and must not throw (a throw is swallowed).
   */
  onStateChange(listener: (change: BreakerStateChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): BreakerStats {
    this.refresh();
    const now = this.clock.now();
    return {
      name: this.name,
      state: this.current,
      consecutiveFailures: this.consecutiveFailures,
      window: this.window ? this.window.totals(now) : { calls: 0, failures: 0 },
      ...this.totals,
      since: this.since,
      openUntil: this.current === "open" ? this.openUntil : null,
    };
  }

  /** Closes the breaker and forgets recent outcomes (operator action, tests). */
  reset(): void {
    this.transition("closed", undefined);
  }

  /** Opens the breaker now for `openMs` (operator action, or a failure seen outside `run`). */
  trip(cause?: unknown): void {
    this.transition("open", cause);
  }

  /** Decides whether a call may run; returns the generation it runs in. */
  private admit(): number {
    this.refresh();
    if (this.current === "open") {
      this.totals.rejected++;
      const retryAfterMs = Math.max(0, this.openUntil - this.clock.now());
      throw new BreakerOpenError(`circuit breaker "${this.name}" is open; retry in ${Math.ceil(retryAfterMs)} ms`, this.name, retryAfterMs, {
        cause: this.lastFailure,
      });
    }
    if (this.current === "half-open") {
      if (this.trialsStarted >= this.halfOpenMaxCalls) {
        this.totals.rejected++;
        throw new BreakerOpenError(`circuit breaker "${this.name}" is half-open and its ${this.halfOpenMaxCalls} trial call(s) are in flight`, this.name, 0, {
          cause: this.lastFailure,
        });
      }
      this.trialsStarted++;
    }
    this.totals.calls++;
    return this.generation;
  }

  private settle(generation: number, failed: boolean, error: unknown): void {
    if (failed) this.totals.failures++;
    if (generation !== this.generation) return;
    const now = this.clock.now();
    if (this.current === "half-open") {
      if (failed) return this.transition("open", error);
      if (++this.trialsSucceeded >= this.halfOpenMaxCalls) this.transition("closed", undefined);
      return;
    }
    // closed
    this.consecutiveFailures = failed ? this.consecutiveFailures + 1 : 0;
    if (failed) this.lastFailure = error;
    this.window?.record(now, failed);
    if (this.consecutiveFailures >= this.consecutiveLimit) return this.transition("open", error);
    if (failed && this.rate && this.window) {
      const { calls, failures } = this.window.totals(now);
      if (calls >= this.rate.minCalls && failures / calls >= this.rate.ratio) this.transition("open", error);
    }
  }

  private refresh(): void {
    if (this.current === "open" && this.clock.now() >= this.openUntil) this.transition("half-open", undefined);
  }

  private transition(to: BreakerState, cause: unknown): void {
    const from = this.current;
    const at = this.clock.now();
    this.current = to;
    this.generation++;
    this.since = at;
    this.trialsStarted = 0;
    this.trialsSucceeded = 0;
    if (to === "open") {
      this.openUntil = at + this.openMs;
      if (from !== "open") this.totals.opened++;
      if (cause !== undefined) this.lastFailure = cause;
    } else if (to === "closed") {
      this.consecutiveFailures = 0;
      this.window?.clear();
    }
    if (from === to) return;
    const change: BreakerStateChange = { from, to, at, ...(to === "open" ? { cause } : {}) };
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch {
        // A listener's bug must not change the breaker's decision.
      }
    }
  }
}

function isPositiveInteger(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0;
}
