/**
 * Instance-local request coalescing: while a load for a key is in flight, every other caller for
 * that key waits on the same promise instead of starting its own. This is the first line of
 * stampede protection (100 concurrent misses on one instance make one origin call); the Redis
 * lease (`lease.ts`) extends it across instances.
 *
 * - The entry is removed as soon as the shared promise settles, so the next call after a
 *   failure retries, and nothing is cached here: caching is the tiers' job.
 * - A rejection reaches every waiter (the same error object).
 * - `forget(key)` detaches the in-flight call: later callers start a fresh one while earlier
 *   waiters still get the old result. Invalidation calls it so a read that started before the
 *   invalidation cannot hand its (possibly old) value to a read that started after.
 *
 * @example
 * const flights = new SingleFlight<string, User>();
 * const user = await flights.do(`user:${id}`, () => db.loadUser(id));
 */
import { promiseOf } from "../../../lib/concurrency.ts";

export interface SingleFlightStats {
  /** Keys with a call in flight now. */
  inFlight: number;
  /** `do` calls that started a new call. */
  started: number;
  /** `do` calls that joined a call already in flight. */
  joined: number;
}

export class SingleFlight<K, V> {
  private readonly flights = new Map<K, Promise<V>>();
  private started = 0;
  private joined = 0;

  /**
   * Runs `fn` unless a call for `key` is already in flight, in which case it returns that call's
   * promise. A synchronous throw from `fn` becomes a rejection, shared like any other.
   */
  do(key: K, fn: () => Promise<V> | V): Promise<V> {
    const current = this.flights.get(key);
    if (current) {
      this.joined++;
      return current;
    }
    this.started++;
    // fn's own promise, not one wrapping it (an async wrapper costs a promise and two turns of
    // the microtask queue per call); a synchronous throw still becomes a shared rejection.
    const flight = promiseOf(fn).finally(() => {
      // Only remove our own entry: forget() may have made room for a newer call.
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    this.flights.set(key, flight);
    return flight;
  }

  /** True while a call for `key` is in flight (and not forgotten). */
  has(key: K): boolean {
    return this.flights.has(key);
  }

  /** Detaches the in-flight call for `key`, if any; returns whether there was one. */
  forget(key: K): boolean {
    return this.flights.delete(key);
  }

  stats(): SingleFlightStats {
    return { inFlight: this.flights.size, started: this.started, joined: this.joined };
  }
}
