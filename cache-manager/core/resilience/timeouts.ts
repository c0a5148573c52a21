/**
 * Time limits on origin loads, and TTL jitter.
 *
 * `withTimeouts` gives a load two deadlines, both measured from the moment it starts:
 *
 * - **soft** (`softMs`): if the load is still running and the caller has a stale value, the caller
 *   gets the stale value now (`stale: true`) and the load keeps running in the background; its
 *   outcome goes to `onLateResult`, so the cache can store the fresh value when it arrives. With
 *   no stale value the soft deadline does nothing: there is nothing better to answer with.
 * - **hard** (`hardMs`): the load is aborted through the `AbortSignal` it was given (the signal's
 *   reason is the `HardTimeoutError`). A caller still waiting is rejected with `HardTimeoutError`;
 *   a load already running in the background reports it to `onLateResult`. Whatever the load
 *   does after that (a load that ignores its signal) is discarded. The caller is answered before
 *   the signal aborts, so the load need not race its signal to answer early.
 *
 * The load receives its signal as `call.signal`, made on first read (an `AbortController` costs
 * about as much as the rest of a fast load's bookkeeping, and most loads never look at it); one
 * read after the hard deadline is already aborted.
 *
 * This bounds both the caller's latency (soft) and how long a stuck origin call holds resources
 * (hard). Failures of the load itself are passed through unchanged: serving stale on error is the
 * caller's decision.
 *
 * @example
 * const { value, stale } = await withTimeouts((call) => fetchUser(id, { signal: call.signal }), {
 *   softMs: 200, hardMs: 5_000, stale: cached ? { value: cached.value } : undefined,
 *   onLateResult: (outcome) => { if (outcome.ok) cache.set(key, outcome.value); },
 * });
 */
import { systemClock, type Clock, type TimerHandle } from "../../../lib/clock.ts";
import { promiseOf } from "../../../lib/concurrency.ts";
import { HardTimeoutError, ResilienceArgumentError } from "./errors.ts";

export type LoadOutcome<V> = { ok: true; value: V } | { ok: false; error: unknown };

export interface TimedLoadOptions<V> {
  /** After this long, answer with `stale.value` if there is one (ms ≥ 0). */
  softMs?: number;
  /** After this long, abort the load and fail with `HardTimeoutError` (ms ≥ 0). */
  hardMs?: number;
  /** The value to answer with when the soft deadline passes; absent: no soft answer. */
  stale?: { value: V };
  /**
   * Receives the load's outcome when it settles after the caller was answered with the stale
   * value (including a hard timeout). Called at most once; a throw from it is swallowed.
   */
  onLateResult?: (outcome: LoadOutcome<V>) => void;
  clock?: Clock;
}

/** What a timed load is given: the signal that aborts at the hard deadline, made when first read. */
export interface TimedCall {
  readonly signal: AbortSignal;
  /** Always true: the caller stops waiting before the signal aborts (`OriginCallOptions` reads it). */
  readonly abandonsBeforeAbort: true;
}

export interface TimedLoad<V> {
  value: V;
  /** True when the soft deadline passed and `value` is the stale value given in the options. */
  stale: boolean;
}

/** Runs `load` under the soft and hard deadlines described above. */
export function withTimeouts<V>(load: (call: TimedCall) => Promise<V> | V, options: TimedLoadOptions<V> = {}): Promise<TimedLoad<V>> {
  const { softMs, hardMs, stale, onLateResult } = options;
  checkDeadline("softMs", softMs);
  checkDeadline("hardMs", hardMs);
  const clock = options.clock ?? systemClock;
  const call = new LazyAbort();

  return new Promise<TimedLoad<V>>((resolve, reject) => {
    /** The caller has its answer (fresh, stale or an error). */
    let answered = false;
    /** The load settled or was abandoned at the hard deadline; later outcomes are ignored. */
    let finished = false;
    let softTimer: TimerHandle | undefined;
    let hardTimer: TimerHandle | undefined;

    const finish = (outcome: LoadOutcome<V>) => {
      finished = true;
      if (softTimer !== undefined) clock.clearTimeout(softTimer);
      if (hardTimer !== undefined) clock.clearTimeout(hardTimer);
      if (!answered) {
        answered = true;
        if (outcome.ok) resolve({ value: outcome.value, stale: false });
        else reject(outcome.error);
        return;
      }
      try {
        onLateResult?.(outcome);
      } catch {
        // The background refresh is best effort; its callback cannot fail the request.
      }
    };

    if (stale && softMs !== undefined) {
      softTimer = clock.setTimeout(() => {
        softTimer = undefined;
        if (answered || finished) return;
        answered = true;
        resolve({ value: stale.value, stale: true });
      }, softMs);
    }
    if (hardMs !== undefined) {
      hardTimer = clock.setTimeout(() => {
        hardTimer = undefined;
        if (finished) return;
        const error = new HardTimeoutError(hardMs);
        finish({ ok: false, error });
        call.abort(error);
      }, hardMs);
    }

    promiseOf(() => load(call)).then(
      (value) => {
        if (!finished) finish({ ok: true, value });
      },
      (error: unknown) => {
        if (!finished) finish({ ok: false, error });
      },
    );
  });
}

/**
 * A `TimedCall` whose `AbortController` is made when its signal is first read (already aborted
 * when that is after `abort`).
 */
class LazyAbort implements TimedCall {
  readonly abandonsBeforeAbort = true;
  private controller: AbortController | undefined;
  private aborted = false;
  private reason: unknown;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

/**
 * Spreads a TTL by ±`ratio` so keys written together do not expire together (which would send
 * their reloads to the origin at the same instant). Returns a positive integer.
 *
 * @param random a source of numbers in [0, 1); inject a seeded one for reproducible results.
 * @example jitterTtl(60_000, 0.1) // somewhere in [54_000, 66_000]
 */
export function jitterTtl(ttlMs: number, ratio = 0.1, random: () => number = Math.random): number {
  if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) throw new ResilienceArgumentError(`jitterTtl needs a finite ttlMs > 0, got ${ttlMs}`);
  if (!(ratio >= 0 && ratio < 1)) throw new ResilienceArgumentError(`jitterTtl needs a ratio in [0, 1), got ${ratio}`);
  const r = random();
  if (!(r >= 0 && r < 1)) throw new ResilienceArgumentError(`jitterTtl's random() must return a number in [0, 1), got ${r}`);
  return Math.max(1, Math.round(ttlMs * (1 + ratio * (2 * r - 1))));
}

function checkDeadline(name: string, ms: number | undefined): void {
  if (ms !== undefined && (!(ms >= 0) || !Number.isFinite(ms))) {
    throw new ResilienceArgumentError(`${name} must be a finite number of milliseconds ≥ 0, got ${ms}`);
  }
}
