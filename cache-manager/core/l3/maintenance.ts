/**
 * L3's background upkeep, one loop per instance: retention (`purgeExpired`) and key rotation
 * (`reencrypt` moves entries still under an older key id to the current one). Each round does
 * at most `maxBatches` statements of each kind, then waits `everyMs` before the next round, so it
 * never runs two rounds at once and its load is bounded. Several instances may run it together:
 * both operations re-check the row they change, so the worst case is wasted work.
 *
 * Failures (L3 down) are reported to `onError` and the loop goes on; nothing is left unhandled.
 *
 * @example
 * const maintenance = startL3Maintenance(store, { everyMs: 60_000, batch: 1_000, onError: log.warn });
 * ...
 * await maintenance.stop();
 */
import type { L3Store } from "./types.ts";

export interface L3MaintenanceOptions {
  /** Pause between the end of one round and the start of the next. */
  everyMs: number;
  /** Entries per statement (purge or re-encryption). */
  batch: number;
  /** Statements of each kind per round, at most (default 10): a backlog is worked off over rounds. */
  maxBatches?: number;
  /** Epoch milliseconds: what "expired" is measured against. */
  clock?: () => number;
  onError?: (error: unknown) => void;
  onRound?: (round: L3MaintenanceRound) => void;
}

export interface L3MaintenanceRound {
  purged: number;
  reencrypted: number;
}

export interface L3Maintenance {
  /** Runs one round now (after the running one, if any); rejects with its error, which `onError` also receives. */
  runOnce(): Promise<L3MaintenanceRound>;
  /** Stops the loop and waits for a running round to finish. */
  stop(): Promise<void>;
}

/** Calls `step(batch)` until it does less than a full batch or `maxBatches` ran; resolves to the total. */
async function drain(step: (batch: number) => Promise<number>, batch: number, maxBatches: number): Promise<number> {
  let total = 0;
  for (let i = 0; i < maxBatches; i++) {
    const done = await step(batch);
    total += done;
    if (done < batch) break;
  }
  return total;
}

export function startL3Maintenance(store: L3Store, options: L3MaintenanceOptions): L3Maintenance {
  const { everyMs, batch } = options;
  if (!(everyMs > 0) || !(Number.isInteger(batch) && batch > 0)) throw new RangeError("startL3Maintenance needs everyMs > 0 and a positive whole batch");
  const maxBatches = options.maxBatches ?? 10;
  const clock = options.clock ?? Date.now;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<L3MaintenanceRound> = Promise.resolve({ purged: 0, reencrypted: 0 });

  const round = async (): Promise<L3MaintenanceRound> => {
    const purged = await drain((n) => store.purgeExpired(clock(), n), batch, maxBatches);
    const reencrypted = await drain((n) => store.reencrypt(n), batch, maxBatches);
    const result = { purged, reencrypted };
    options.onRound?.(result);
    return result;
  };

  /** Chains a round after the running one; failures go to onError, never unhandled. */
  const enqueue = () => {
    const next = running.then(round);
    running = next.catch((error: unknown) => {
      options.onError?.(error);
      return { purged: 0, reencrypted: 0 };
    });
    return next;
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      void enqueue()
        .catch(() => undefined) // reported by enqueue
        .finally(schedule);
    }, everyMs);
    timer.unref();
  };
  schedule();

  return {
    runOnce: enqueue,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
