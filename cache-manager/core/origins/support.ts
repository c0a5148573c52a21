/** Small helpers shared by the sql and http origins. */
import { mapBounded, promiseOf } from "../../../lib/concurrency.ts";
import { OriginAbortedError, OriginArgumentError, OriginTimeoutError, type OriginOperation } from "./errors.ts";
import type { LoadResult, OriginCallOptions } from "./types.ts";

/** Concurrent loads per `loadMany` call. */
export const LOAD_MANY_CONCURRENCY = 8;
export const MAX_LIST_LIMIT = 10_000;

/** The id part of `key`, or `E_ORIGIN_ARGUMENT` when the key is not in the namespace. */
export function idOf(namespace: string, key: string): string {
  if (typeof key !== "string" || !key.startsWith(namespace)) {
    throw new OriginArgumentError(`key ${JSON.stringify(key)} is not in the namespace "${namespace}": it must start with "${namespace}"`);
  }
  const id = key.slice(namespace.length);
  if (id === "") throw new OriginArgumentError(`key "${key}" has no id after the namespace "${namespace}"`);
  return id;
}

export function checkListLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new OriginArgumentError(`list limit must be an integer from 1 to ${MAX_LIST_LIMIT}, got ${JSON.stringify(limit)}`);
  }
}

/** A timer sleep that rejects with the signal's reason when it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 && !signal?.aborted) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs `task` with a hard deadline: after `timeoutMs` the task's signal aborts and the call
 * rejects with `OriginTimeoutError`, even when the task ignores its signal. The caller's signal
 * aborts it early with `OriginAbortedError` (without `timeoutMs`, the task is given the caller's
 * signal itself, so its abort reason is the caller's).
 */
export function withDeadline<T>(
  what: { namespace: string; operation: OriginOperation; timeoutMs: number | undefined },
  outer: OriginCallOptions | undefined,
  task: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const outerSignal = outer?.signal;
  if (outerSignal?.aborted)
    return Promise.reject(new OriginAbortedError(`origin "${what.namespace}" ${what.operation} was aborted by the caller`, { cause: outerSignal.reason }));
  // Nothing can stop the task: no race (and no promise, closure or listener for it) is needed.
  if (what.timeoutMs === undefined && !outerSignal) return promiseOf(() => task(new AbortController().signal));
  // Without a deadline of its own, only the caller stops the task: the caller's signal is the
  // task's, and no controller of our own is made (one per cache miss, which a read's timeouts
  // already made; the task is still abandoned, below, when it ignores the signal).
  const controller = what.timeoutMs === undefined ? undefined : new AbortController();
  // One promise settled by whichever comes first — the task, the deadline, the caller's abort —
  // rather than a race of three (this runs once per origin load).
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const stop = () => {
      clearTimeout(timer);
      if (onAbort) outerSignal!.removeEventListener("abort", onAbort);
    };
    if (controller) {
      timer = setTimeout(() => {
        const error = new OriginTimeoutError({ namespace: what.namespace, operation: what.operation, timeoutMs: what.timeoutMs! });
        controller.abort(error);
        stop();
        reject(error);
      }, what.timeoutMs);
    }
    if (outerSignal) {
      onAbort = () => {
        const error = new OriginAbortedError(`origin "${what.namespace}" ${what.operation} was aborted by the caller`, { cause: outerSignal.reason });
        controller?.abort(error);
        stop();
        reject(error);
      };
      outerSignal.addEventListener("abort", onAbort, { once: true });
    }
    promiseOf(() => task(controller?.signal ?? outerSignal!)).then(
      (value) => {
        stop();
        resolve(value);
      },
      (error: unknown) => {
        stop();
        reject(error as Error);
      },
    );
  });
}

/** Loads distinct keys with at most `concurrency` loads at a time; the first failure rejects. */
export async function loadEach(
  keys: readonly string[],
  load: (key: string) => Promise<LoadResult>,
  concurrency = LOAD_MANY_CONCURRENCY,
): Promise<Map<string, LoadResult>> {
  const distinct = [...new Set(keys)];
  const results = await mapBounded(distinct, concurrency, load);
  const byKey = new Map<string, LoadResult>();
  for (let i = 0; i < distinct.length; i++) byKey.set(distinct[i], results[i]);
  return byKey;
}
