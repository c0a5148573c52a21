/**
 * Executes one warming run: regroups the source's pages into batches, keeps at most
 * `concurrency` batches in flight, retries a failed batch with exponential backoff and then
 * records it (failed keys plus an error sample), and stops between batches when asked.
 *
 * It knows nothing about caches or databases: `process` does the work of one batch and
 * `afterBatch` persists progress (and reports a cancel or a lost lease through `control`).
 */
import { sleep, type Clock } from "../../lib/clock.ts";

export interface BatchOutcome {
  warmed: number;
  skipped: number;
  /** Keys of the batch that could not be warmed without the whole batch failing. */
  failed?: number;
}

export interface ErrorSample {
  at: string;
  message: string;
  /** The first few keys of the failed batch. */
  keys: string[];
  attempts: number;
}

export interface RunProgress {
  total: number | null;
  warmed: number;
  failed: number;
  skipped: number;
  batches: number;
  retries: number;
  errorSamples: ErrorSample[];
}

/** Why a run stopped before its source was exhausted. */
export type StopReason = "cancelled" | "lost-lease";

export interface RunControl {
  /** Set by `afterBatch` (or anyone) to stop the run before its next batch. */
  stop: StopReason | null;
}

export interface RunBatchesOptions<T> {
  /** The source, page by page; pages of any size are regrouped into `batchSize` batches. */
  items: AsyncIterable<T[]>;
  batchSize: number;
  concurrency: number;
  process(batch: T[]): Promise<BatchOutcome>;
  /** The key of an item, for error samples. */
  keyOf(item: T): string;
  /** Attempts after the first (default 2). */
  retries?: number;
  /** First retry delay; doubles each attempt (default 200 ms). */
  retryDelayMs?: number;
  clock: Clock;
  control: RunControl;
  /**
   * Called after every batch, one call at a time, with the current totals; batches that finish
   * while a call waits to start share it. A batch's worker goes on once a call covering it ended.
   */
  afterBatch?(progress: RunProgress): Promise<void>;
  initial?: Partial<RunProgress>;
  maxErrorSamples?: number;
}

export interface RunResult {
  progress: RunProgress;
  stopped: StopReason | null;
}

const SAMPLE_KEYS = 5;

/** Regroups pages into batches of exactly `size` (the last one may be shorter). */
export async function* rebatch<T>(pages: AsyncIterable<T[]>, size: number): AsyncGenerator<T[]> {
  let pending: T[] = [];
  for await (const page of pages) {
    for (const item of page) {
      pending.push(item);
      if (pending.length === size) {
        yield pending;
        pending = [];
      }
    }
  }
  if (pending.length) yield pending;
}

/**
 * Runs the batches. Resolves with the final progress and why it stopped early (if it did);
 * rejects only when the source itself fails (after the batches in flight have finished).
 *
 * @example
 * const control = { stop: null };
 * await runBatches({ items: pagesOf(keys), batchSize: 100, concurrency: 4, process: warm, keyOf: (k) => k, clock: systemClock, control });
 */
export async function runBatches<T>(options: RunBatchesOptions<T>): Promise<RunResult> {
  const { clock, control } = options;
  const retries = options.retries ?? 2;
  const retryDelayMs = options.retryDelayMs ?? 200;
  const maxSamples = options.maxErrorSamples ?? 10;
  const progress: RunProgress = { total: null, warmed: 0, failed: 0, skipped: 0, batches: 0, retries: 0, errorSamples: [], ...options.initial };
  const batches = rebatch(options.items, options.batchSize)[Symbol.asyncIterator]();

  // An async generator must not be advanced concurrently: pulls go through one chain.
  let pulling: Promise<unknown> = Promise.resolve();
  const pull = (): Promise<IteratorResult<T[]>> => {
    const next = pulling.then(() => batches.next());
    pulling = next.catch(() => undefined);
    return next;
  };
  // One report at a time. Batches that finish while a report is waiting to start share it: it
  // reads `progress` when it starts, so it covers all of them (one save instead of one each).
  let reporting: Promise<void> = Promise.resolve();
  let waiting: Promise<void> | null = null;
  const report = () => {
    if (waiting) return waiting;
    const next = reporting
      .then(() => {
        waiting = null;
        return options.afterBatch?.(progress);
      })
      .catch(() => undefined);
    waiting = reporting = next;
    return next;
  };

  let sourceError: unknown;
  const worker = async () => {
    while (control.stop === null && sourceError === undefined) {
      let next: IteratorResult<T[]>;
      try {
        next = await pull();
      } catch (error) {
        sourceError ??= error;
        return;
      }
      if (next.done) return;
      const batch = next.value;
      for (let attempt = 0; ; attempt++) {
        try {
          const outcome = await options.process(batch);
          progress.warmed += outcome.warmed;
          progress.skipped += outcome.skipped;
          progress.failed += outcome.failed ?? 0;
          break;
        } catch (error) {
          if (attempt < retries) {
            progress.retries++;
            await sleep(clock, retryDelayMs * 2 ** attempt);
            continue;
          }
          progress.failed += batch.length;
          if (progress.errorSamples.length < maxSamples) {
            progress.errorSamples.push({
              at: new Date(clock.now()).toISOString(),
              message: (error as Error)?.message ?? String(error),
              keys: batch.slice(0, SAMPLE_KEYS).map(options.keyOf),
              attempts: attempt + 1,
            });
          }
          break;
        }
      }
      progress.batches++;
      await report();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  await reporting;
  if (sourceError !== undefined && control.stop === null) throw sourceError;
  return { progress, stopped: control.stop };
}
