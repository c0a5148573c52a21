/**
 * The one clock of the app: every time-dependent piece reads it (TTLs, grace periods, breaker
 * windows, soft and hard timeouts, lease polling, warming's schedules and retries, coherence
 * latency). It is injected so tests move time by hand instead of sleeping (`FakeClock`), and
 * production uses `systemClock`.
 *
 * `now()` is wall-clock milliseconds (`Date.now()`) in `systemClock`, because absolute expiries are
 * written to L2 and compared by other instances. Code that only measures durations inside one
 * process may use `monotonicClock`, which cannot jump when the system time is adjusted.
 *
 * @example
 * const clock = new FakeClock();
 * const breaker = new CircuitBreaker({ failureThreshold: 3, openMs: 1_000, clock });
 * clock.advance(1_000); // the breaker now admits a trial call; no real time passed
 */
import { CodedError } from "./errors.ts";

/** A FakeClock asked to do something impossible (move backwards, fire timers forever). */
export class ClockArgumentError extends CodedError {
  static override code = "E_CLOCK_INVALID_ARGUMENT";
}

declare const timerBrand: unique symbol;

/** An opaque timer handle; only the clock that issued it can clear it. */
export type TimerHandle = { readonly [timerBrand]: true };

export interface Clock {
  /** Milliseconds since an epoch fixed for the clock's lifetime. */
  now(): number;
  /** Calls `fn` once, `ms` milliseconds from now (negative or NaN: as soon as possible). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer that has not fired; clearing a fired or cleared timer does nothing. */
  clearTimeout(handle: TimerHandle): void;
}

function realClock(now: () => number): Clock {
  return {
    now,
    setTimeout(fn, ms) {
      // Unref'd: a pending breaker or timeout timer must not keep a finished process alive.
      const timer = setTimeout(fn, Math.max(0, ms || 0));
      timer.unref?.();
      return timer as unknown as TimerHandle;
    },
    clearTimeout(handle) {
      clearTimeout(handle as unknown as NodeJS.Timeout);
    },
  };
}

/** Wall-clock time (`Date.now()`) and Node timers (unref'd). */
export const systemClock: Clock = realClock(() => Date.now());

/** Monotonic time (`performance.now()`) and Node timers: for durations measured in-process. */
export const monotonicClock: Clock = realClock(() => performance.now());

/**
 * Resolves after `ms` on `clock`. Rejects with `signal.reason` when the signal aborts first (and
 * clears the timer, so nothing is left pending).
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(signal!.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

interface FakeTimer {
  id: number;
  due: number;
  fn: () => void;
}

/**
 * A clock that only moves when told to. Timers fire in order of due time, then of creation, and
 * `now()` reads each timer's due time while it runs, as with real timers. A timer scheduled by
 * another timer fires in the same `advance` when it falls due within the advanced span.
 *
 * `advance` runs timers synchronously, so promise callbacks queued by a timer run only after it
 * returns. `advanceAsync` yields to the event loop before and after each timer, so code that
 * awaits between timers (a retry loop that sleeps, then awaits a promise, then sleeps again)
 * makes progress as it would in real time.
 */
export class FakeClock implements Clock {
  private time: number;
  private nextId = 1;
  /** A binary min-heap on (due, id); cleared timers are dropped lazily. */
  private heap: FakeTimer[] = [];
  private live = new Set<number>();

  constructor(
    start = 0,
    /** Guards against a timer that keeps rescheduling itself at 0 ms. */
    private readonly maxTimersPerAdvance = 1_000_000,
  ) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: FakeTimer = { id: this.nextId++, due: this.time + Math.max(0, ms || 0), fn };
    this.live.add(timer.id);
    this.push(timer);
    return timer.id as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.live.delete(handle as unknown as number);
  }

  /** Timers scheduled and neither fired nor cleared. */
  get pendingTimers(): number {
    return this.live.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.targetOf(ms);
    let fired = 0;
    for (let timer = this.takeDue(target); timer; timer = this.takeDue(target)) {
      this.guard(++fired);
      this.time = timer.due;
      timer.fn();
    }
    this.time = target;
  }

  /**
   * Like `advance`, but lets pending promise callbacks (and other ready macrotasks) run before
   * the first timer, between timers and after the last one.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.targetOf(ms);
    await settle();
    let fired = 0;
    for (let timer = this.takeDue(target); timer; timer = this.takeDue(target)) {
      this.guard(++fired);
      this.time = timer.due;
      timer.fn();
      await settle();
    }
    this.time = target;
    await settle();
  }

  /** Fires every pending timer (and those they schedule) by advancing to the last due time. */
  async runAllAsync(): Promise<void> {
    let fired = 0;
    await settle();
    for (let timer = this.takeDue(Infinity); timer; timer = this.takeDue(Infinity)) {
      this.guard(++fired);
      this.time = timer.due;
      timer.fn();
      await settle();
    }
  }

  /**
   * Fires timers (as `runAllAsync`) until `work` settles, and returns its result: for code that
   * sleeps on this clock in a loop (retries with backoff), so a test neither sleeps nor has to
   * know how many timers the code will set.
   *
   * @example
   * const result = await clock.drive(runBatches({ ..., clock, retryDelayMs: 100 }));
   */
  async drive<T>(work: Promise<T>): Promise<T> {
    let settled = false;
    const tracked = work.finally(() => {
      settled = true;
    });
    tracked.catch(() => undefined);
    while (!settled) await this.runAllAsync();
    return tracked;
  }

  private targetOf(ms: number): number {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new ClockArgumentError(`advance(ms) needs a finite ms ≥ 0, got ${ms}`);
    return this.time + ms;
  }

  private guard(fired: number): void {
    if (fired > this.maxTimersPerAdvance) {
      throw new ClockArgumentError(`more than ${this.maxTimersPerAdvance} timers fired in one advance: a timer reschedules itself forever?`);
    }
  }

  /** Removes and returns the earliest live timer due at or before `target`. */
  private takeDue(target: number): FakeTimer | undefined {
    while (this.heap.length > 0) {
      const top = this.heap[0];
      if (!this.live.has(top.id)) {
        this.pop();
        continue;
      }
      if (top.due > target) return undefined;
      this.pop();
      this.live.delete(top.id);
      return top;
    }
    return undefined;
  }

  private push(timer: FakeTimer): void {
    const heap = this.heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && before(heap[left], heap[smallest])) smallest = left;
      if (right < heap.length && before(heap[right], heap[smallest])) smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
      i = smallest;
    }
  }
}

function before(a: FakeTimer, b: FakeTimer): boolean {
  return a.due < b.due || (a.due === b.due && a.id < b.id);
}

/** One macrotask turn: every queued microtask (promise callback) runs before it resolves. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
