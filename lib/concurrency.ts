/**
 * `fn()` as a promise: its own promise when it returns one, a synchronous throw as a rejection.
 * What an `async () => fn()` wrapper gives, without the wrapper's extra promise and microtask turns
 * (for hot paths: every L2 call, every origin load).
 */
export function promiseOf<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

/** Maps `items` with at most `concurrency` calls of `fn` in flight; results keep their order. */
export async function mapBounded<T, R>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
