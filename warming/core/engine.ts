/**
 * The warming engine: one instance per process. It turns due schedules into queued runs
 * (`tick`), claims queued runs from the shared queue within the concurrency limits (`pump`),
 * executes them in batches against cache-manager, renews each run's lease while it works, and
 * fails runs whose worker stopped renewing theirs.
 *
 * All IO is injected: the repository (SQL), the cache port (cache-manager's typed client in
 * production), the clock.
 */
import type { Clock } from "../../lib/clock.ts";
import { refreshAheadKeys, needsRefresh, rankObservations, timeOfDayWindows, bucketStart, type HotKeyTtl } from "./hot.ts";
import { WarmingRepository, type Run, type RunStatus } from "./repository.ts";
import { runBatches, type BatchOutcome, type RunControl, type RunProgress } from "./runner.ts";
import { nextDue, parseSchedule } from "./schedule.ts";
import { decodeSnapshot, encodeSnapshot, secondsLeft, type SnapshotEntry } from "./snapshot.ts";
import type { RunSpec } from "./spec.ts";

/** What warming needs from cache-manager. */
export interface CachePort {
  /** One page of a namespace's keys from its origin. */
  originKeys(namespace: string, cursor: string | null, limit: number): Promise<{ keys: string[]; cursor: string | null }>;
  /**
   * Loads keys straight from their origins (no cache read), each with the fill fence taken before
   * its origin was read: pass it back to `store`, so a change made meanwhile is not overwritten.
   */
  originLoad(keys: string[]): Promise<Array<{ key: string; found: boolean; value?: unknown; fence?: string }>>;
  /** Writes entries to L2 and L1 (cache-only); an entry with a fence only if its key did not change since. */
  store(entries: Array<{ key: string; value: unknown; ttlSeconds?: number; tags?: string[]; fence?: string }>): Promise<void>;
  /** The hottest keys with their remaining L2 TTL. */
  hotKeys(limit: number): Promise<HotKeyTtl[]>;
  /** What the cache holds for each key, without loading or counting a hit. */
  peek(keys: string[], withValues: boolean): Promise<Array<{ key: string; found: boolean; ttlMs: number; value?: unknown; tags?: string[] }>>;
  /**
   * Writes one page (at most `limit`) of the L3 entries matching `pattern` back into L2, starting
   * at `cursor` (null: the first page); `cursor` in the answer is null after the last page.
   */
  restoreFromL3(pattern: string, cursor: string | null, limit: number): Promise<L3RestorePage>;
}

/** What one `restoreFromL3` page did: entries written into L2, entries left alone (expired, or changed meanwhile). */
export interface L3RestorePage {
  restored: number;
  skipped: number;
  cursor: string | null;
}

export type WarmingEvent =
  | { type: "run-finished"; runId: number; status: RunStatus }
  | { type: "keys"; warmed: number; failed: number }
  | { type: "reaped"; runIds: number[] }
  | { type: "problem"; message: string };

export interface EngineOptions {
  repo: WarmingRepository;
  cache: CachePort;
  clock: Clock;
  /** This process's id in run rows (`worker_id`). */
  workerId: string;
  /** Runs in flight across all instances (default 4). */
  maxRunning?: number;
  /** Runs in flight in this process (default = maxRunning). */
  localSlots?: number;
  /** A running run whose lease is older than this is failed (default 30 s). */
  leaseMs?: number;
  /** How often a worker renews its runs' leases (default leaseMs / 3). */
  heartbeatMs?: number;
  /** How often the queue is polled and dead workers looked for (default 1 s). */
  pollMs?: number;
  batchRetries?: number;
  retryDelayMs?: number;
  /** Snapshots kept per namespace (default 5). */
  snapshotsKept?: number;
  /** Hot-key observation bucket (default 10 min). */
  observationBucketMs?: number;
  /** How long observations are kept (default 31 days). */
  observationRetentionMs?: number;
  /** How long finished runs are kept (default 30 days). */
  runRetentionMs?: number;
  onEvent?(event: WarmingEvent): void;
}

export interface TickResult {
  enqueued: Array<{ jobId: number; runId: number; dueAt: number }>;
  reaped: number[];
  observed: number;
}

const DAY_MS = 24 * 3600_000;
const PAGE_LIMIT = 1_000;
const OBSERVED_HOT_KEYS = 100;

/** Yields `items` in pages of `size`. */
async function* pagesOf<T>(items: readonly T[], size = PAGE_LIMIT): AsyncGenerator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

interface Plan<T> {
  items: AsyncIterable<T[]>;
  total: number | null;
  skipped?: number;
  keyOf(item: T): string;
  process(batch: T[]): Promise<BatchOutcome>;
  /** Runs after every batch completed (not after a cancel). */
  complete?(progress: RunProgress): Promise<void>;
  /** Overrides the run's batch size and concurrency (a source whose pages are its batches, read one after another). */
  batchSize?: number;
  concurrency?: number;
}

export class WarmingEngine {
  private readonly o: Required<Omit<EngineOptions, "onEvent">> & Pick<EngineOptions, "onEvent">;
  private readonly running = new Map<number, Promise<void>>();
  private pumping: Promise<void> | undefined;
  private pumpAgain = false;
  private timer: NodeJS.Timeout | undefined;
  private lastPrune = 0;
  private stopped = false;

  constructor(options: EngineOptions) {
    const maxRunning = options.maxRunning ?? 4;
    const leaseMs = options.leaseMs ?? 30_000;
    this.o = {
      maxRunning,
      localSlots: options.localSlots ?? maxRunning,
      leaseMs,
      heartbeatMs: options.heartbeatMs ?? Math.max(50, Math.floor(leaseMs / 3)),
      pollMs: options.pollMs ?? 1_000,
      batchRetries: options.batchRetries ?? 2,
      retryDelayMs: options.retryDelayMs ?? 200,
      snapshotsKept: options.snapshotsKept ?? 5,
      observationBucketMs: options.observationBucketMs ?? 10 * 60_000,
      observationRetentionMs: options.observationRetentionMs ?? 31 * DAY_MS,
      runRetentionMs: options.runRetentionMs ?? 30 * DAY_MS,
      ...options,
    } as WarmingEngine["o"];
  }

  get repo(): WarmingRepository {
    return this.o.repo;
  }

  /** Runs executing in this process. */
  get runningHere(): number {
    return this.running.size;
  }

  /** Starts polling the queue and looking for dead workers. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.poll(), this.o.pollMs);
    this.timer.unref();
    void this.poll();
  }

  /** Stops polling; runs in flight continue until they end (or their process exits). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Waits for the runs executing in this process (tests, graceful shutdown). */
  async idle(): Promise<void> {
    while (this.running.size || this.pumping) await Promise.allSettled([...this.running.values(), this.pumping]);
  }

  private async poll(): Promise<void> {
    try {
      await this.reap(this.o.clock.now());
      await this.pump();
    } catch (error) {
      this.emit({ type: "problem", message: `warming poll failed: ${(error as Error).message}` });
    }
  }

  private emit(event: WarmingEvent): void {
    try {
      this.o.onEvent?.(event);
    } catch {
      // a metrics listener must not break the engine
    }
  }

  private async reap(now: number): Promise<number[]> {
    const reaped = await this.o.repo.reapExpired(now, this.o.leaseMs);
    if (reaped.length) {
      this.emit({ type: "reaped", runIds: reaped.map((r) => r.id) });
      for (const r of reaped) this.emit({ type: "run-finished", runId: r.id, status: "failed" });
    }
    return reaped.map((r) => r.id);
  }

  /**
   * The scheduler tick (the cron job, every minute): fails runs of dead workers, enqueues every
   * job's due time once, records the current hot keys for time-of-day prediction, then pumps.
   */
  async tick(now = this.o.clock.now()): Promise<TickResult> {
    const reaped = await this.reap(now);
    const enqueued: TickResult["enqueued"] = [];
    for (const job of await this.o.repo.scheduledJobs()) {
      let due: number | null;
      try {
        due = nextDue(parseSchedule(job.schedule!, job.timeZone), job.scheduledThrough, now);
      } catch (error) {
        this.emit({ type: "problem", message: `job ${job.id} "${job.name}": ${(error as Error).message}` });
        continue;
      }
      if (due === null) continue;
      const runId = await this.o.repo.enqueueDue(job.id, due, now);
      if (runId !== null) enqueued.push({ jobId: job.id, runId, dueAt: due });
    }
    let observed = 0;
    try {
      const hot = await this.o.cache.hotKeys(OBSERVED_HOT_KEYS);
      const seen = hot.filter((h) => h.count > 0);
      await this.o.repo.recordObservations(bucketStart(now, this.o.observationBucketMs), seen);
      observed = seen.length;
    } catch (error) {
      this.emit({ type: "problem", message: `recording hot keys failed: ${(error as Error).message}` });
    }
    if (now - this.lastPrune > 3600_000) {
      this.lastPrune = now;
      await this.o.repo.pruneObservations(now - this.o.observationRetentionMs).catch(() => 0);
      await this.o.repo.pruneRuns(now - this.o.runRetentionMs).catch(() => 0);
    }
    void this.pump();
    return { enqueued, reaped, observed };
  }

  /** Claims queued runs while this process and the cluster have free slots, and starts them. */
  pump(): Promise<void> {
    if (this.pumping) {
      this.pumpAgain = true;
      return this.pumping;
    }
    this.pumping = (async () => {
      try {
        do {
          this.pumpAgain = false;
          if (this.stopped) return;
          const slots = this.o.localSlots - this.running.size;
          const claimed = await this.o.repo.claim(this.o.workerId, this.o.clock.now(), slots, this.o.maxRunning);
          for (const run of claimed) {
            const execution = this.execute(run).finally(() => {
              this.running.delete(run.id);
              void this.pump();
            });
            this.running.set(run.id, execution);
          }
        } while (this.pumpAgain);
      } catch (error) {
        this.emit({ type: "problem", message: `claiming runs failed: ${(error as Error).message}` });
      } finally {
        this.pumping = undefined;
      }
    })();
    return this.pumping;
  }

  /** Executes one claimed run to its end, renewing its lease meanwhile. Never throws. */
  async execute(run: Run): Promise<void> {
    const { repo, clock, workerId } = this.o;
    const control: RunControl = { stop: null };
    const absorb = (answer: { owned: boolean; cancelRequested: boolean }) => {
      if (!answer.owned) control.stop = "lost-lease";
      else if (answer.cancelRequested && control.stop === null) control.stop = "cancelled";
    };
    const heartbeat = setInterval(() => {
      repo.heartbeat(run.id, workerId, clock.now()).then(absorb, () => undefined);
    }, this.o.heartbeatMs);
    heartbeat.unref();

    let progress: RunProgress = { total: null, warmed: 0, failed: 0, skipped: 0, batches: 0, retries: 0, errorSamples: [] };
    let status: "succeeded" | "failed" | "cancelled" = "succeeded";
    let error: string | null = null;
    let reported = { warmed: 0, failed: 0 };
    const reportKeys = (p: RunProgress) => {
      const delta = { warmed: p.warmed - reported.warmed, failed: p.failed - reported.failed };
      reported = { warmed: p.warmed, failed: p.failed };
      if (delta.warmed || delta.failed) this.emit({ type: "keys", ...delta });
    };
    try {
      if (run.cancelRequested) {
        control.stop = "cancelled";
      } else {
        const plan = await this.plan(run);
        progress = { ...progress, total: plan.total, skipped: plan.skipped ?? 0 };
        const result = await runBatches({
          items: plan.items,
          batchSize: plan.batchSize ?? run.spec.batchSize,
          concurrency: plan.concurrency ?? run.spec.concurrency,
          process: (batch) => plan.process(batch as never[]),
          keyOf: (item) => plan.keyOf(item as never),
          retries: this.o.batchRetries,
          retryDelayMs: this.o.retryDelayMs,
          clock,
          control,
          initial: progress,
          afterBatch: async (p) => {
            // Kept so that a source failing later records the batches done before it, not zeros.
            progress = p;
            reportKeys(p);
            absorb(await repo.saveProgress(run.id, workerId, p, clock.now()));
          },
        });
        progress = result.progress;
        if (progress.total === null && result.stopped === null) progress.total = progress.warmed + progress.failed + progress.skipped;
        if (result.stopped === null && plan.complete) await plan.complete(progress);
      }
      if (control.stop === "cancelled") status = "cancelled";
      else if (progress.failed > 0 && progress.warmed === 0 && progress.skipped === 0) {
        status = "failed";
        error = `every batch failed; first error: ${progress.errorSamples[0]?.message ?? "unknown"}`;
      }
    } catch (failure) {
      status = "failed";
      error = (failure as Error)?.message ?? String(failure);
    } finally {
      clearInterval(heartbeat);
    }
    reportKeys(progress);
    if (control.stop === "lost-lease") {
      this.emit({ type: "problem", message: `run ${run.id} was taken away from this worker (its lease expired); it stopped` });
      return;
    }
    try {
      if (await repo.finish(run.id, workerId, status, progress, error, clock.now())) this.emit({ type: "run-finished", runId: run.id, status });
    } catch (failure) {
      this.emit({ type: "problem", message: `recording the end of run ${run.id} failed: ${(failure as Error).message}` });
    }
  }

  /** Where a run's keys come from and what one batch does, by source type. */
  private async plan(run: Run): Promise<Plan<any>> {
    const spec = run.spec;
    const source = spec.source;
    const warmKeys = (batch: string[]) => this.warmKeys(batch, spec);
    const byKey = (key: string) => key;
    switch (source.type) {
      case "keys": {
        const keys = source.keys ?? [];
        return { items: pagesOf(keys), total: keys.length, keyOf: byKey, process: warmKeys };
      }
      case "origin": {
        if (!spec.namespace) throw new Error("the origin source needs a namespace");
        return { items: this.originPages(spec.namespace, source.limit ?? Number.MAX_SAFE_INTEGER), total: null, keyOf: byKey, process: warmKeys };
      }
      case "hot": {
        const { keys, skipped } = await this.predictHot(spec, this.o.clock.now());
        return { items: pagesOf(keys), total: keys.length + skipped, skipped, keyOf: byKey, process: warmKeys };
      }
      case "snapshot":
        return source.action === "save" ? this.planSnapshotSave(run) : this.planSnapshotRestore(run);
      case "l3":
        return this.planL3Restore(run);
    }
  }

  /** Loads a batch from the origins and stores what they have; keys an origin lacks are skipped. */
  private async warmKeys(batch: string[], spec: RunSpec): Promise<BatchOutcome> {
    const loaded = await this.o.cache.originLoad(batch);
    const ttlSeconds = spec.ttlSeconds || undefined;
    const found: Array<{ key: string; value: unknown; ttlSeconds?: number; fence?: string }> = [];
    for (const entry of loaded) {
      if (!entry.found) continue;
      const fence = entry.fence === undefined ? {} : { fence: entry.fence };
      found.push(ttlSeconds === undefined ? { key: entry.key, value: entry.value, ...fence } : { key: entry.key, value: entry.value, ttlSeconds, ...fence });
    }
    if (found.length) await this.o.cache.store(found);
    return { warmed: found.length, skipped: batch.length - found.length };
  }

  private async *originPages(namespace: string, limit: number): AsyncGenerator<string[]> {
    let cursor: string | null = null;
    let listed = 0;
    do {
      const page = await this.o.cache.originKeys(namespace, cursor, Math.min(PAGE_LIMIT, limit - listed));
      const keys = page.keys.slice(0, limit - listed);
      listed += keys.length;
      if (keys.length) yield keys;
      cursor = page.cursor;
    } while (cursor !== null && listed < limit);
  }

  /**
   * The `hot` source's keys: hot keys about to expire (or expired), then keys that were hot around
   * this time of day on previous days and are not fresh in the cache now. Fresh predictions are
   * counted as skipped.
   */
  async predictHot(spec: RunSpec, now: number): Promise<{ keys: string[]; skipped: number }> {
    const source = spec.source;
    const topN = source.topN ?? 100;
    const refreshAheadMs = (source.refreshAheadSeconds ?? 60) * 1000;
    const hot = await this.o.cache.hotKeys(Math.min(topN * 2, 2_000));
    const chosen = refreshAheadKeys(hot, { refreshAheadMs, namespace: spec.namespace, topN });
    const picked = new Set(chosen);
    let skipped = 0;
    const days = source.days ?? 7;
    if (days > 0 && picked.size < topN) {
      const windows = timeOfDayWindows(now, {
        days,
        lookaheadMs: (source.lookaheadMinutes ?? 15) * 60_000,
        halfWidthMs: (source.windowMinutes ?? 15) * 60_000,
      });
      const predicted = rankObservations(await this.o.repo.observationsIn(windows, spec.namespace, topN * 4), topN * 4).filter((key) => !picked.has(key));
      for (let i = 0; i < predicted.length && picked.size < topN; i += PAGE_LIMIT) {
        const states = await this.o.cache.peek(predicted.slice(i, i + PAGE_LIMIT), false);
        for (const state of states) {
          if (picked.size >= topN) break;
          if (!state.found || needsRefresh(state.ttlMs, refreshAheadMs)) picked.add(state.key);
          else skipped++;
        }
      }
    }
    return { keys: [...picked], skipped };
  }

  private async planSnapshotSave(run: Run): Promise<Plan<string>> {
    const spec = run.spec;
    const topN = spec.source.topN ?? 1_000;
    const hot = (await this.o.cache.hotKeys(Math.min(topN, 2_000))).filter((h) => !spec.namespace || h.key.startsWith(spec.namespace));
    const keys = hot.slice(0, topN).map((h) => h.key);
    const entries: SnapshotEntry[] = [];
    return {
      items: pagesOf(keys),
      total: keys.length,
      keyOf: (key) => key,
      process: async (batch) => {
        const states = await this.o.cache.peek(batch, true);
        const peekedAt = this.o.clock.now();
        const found = states.filter((s) => s.found);
        for (const s of found) {
          const expiresAt = s.ttlMs > 0 ? peekedAt + s.ttlMs : null;
          entries.push({ key: s.key, value: s.value, expiresAt, ...(s.tags?.length ? { tags: s.tags } : {}) });
        }
        return { warmed: found.length, skipped: batch.length - found.length };
      },
      complete: async () => {
        const encoded = await encodeSnapshot(entries);
        await this.o.repo.saveSnapshot(
          {
            jobId: run.jobId,
            runId: run.id,
            namespace: spec.namespace,
            keyCount: encoded.count,
            rawBytes: encoded.rawBytes,
            compressedBytes: encoded.compressedBytes,
            data: encoded.data,
          },
          this.o.clock.now(),
          this.o.snapshotsKept,
        );
      },
    };
  }

  /**
   * The `l3` source: cache-manager writes the L3 entries matching the pattern back into L2 (each
   * through its fill fence, keeping its own expiry), one page of `batchSize` entries per call,
   * until the cursor is null. Each page needs the previous page's cursor, so the pages are read
   * one after another and each is one batch: progress (restored → `warmed`, `skipped`) is saved
   * after every page and a cancel stops before the next. A page that fails fails the run with its
   * error, as a failing origin listing does.
   */
  private planL3Restore(run: Run): Plan<L3RestorePage> {
    const pattern = run.spec.source.pattern;
    if (!pattern) throw new Error("the l3 source needs a key pattern");
    const cache = this.o.cache;
    const limit = run.spec.batchSize;
    async function* pages(): AsyncGenerator<L3RestorePage[]> {
      let cursor: string | null = null;
      let page = 0;
      do {
        page++;
        let answer: L3RestorePage;
        try {
          answer = await cache.restoreFromL3(pattern!, cursor, limit);
        } catch (error) {
          throw new Error(`restoring "${pattern}" from L3 failed on page ${page}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
        }
        yield [answer];
        cursor = answer.cursor;
      } while (cursor !== null);
    }
    return {
      items: pages(),
      total: null,
      batchSize: 1,
      concurrency: 1,
      keyOf: () => pattern,
      process: async (batch) => ({ warmed: batch[0].restored, skipped: batch[0].skipped }),
    };
  }

  private async planSnapshotRestore(run: Run): Promise<Plan<SnapshotEntry>> {
    const spec = run.spec;
    const snapshot = await this.o.repo.loadSnapshot({ id: spec.source.snapshotId, namespace: spec.namespace });
    if (!snapshot) {
      throw new Error(
        spec.source.snapshotId !== undefined
          ? `snapshot ${spec.source.snapshotId} does not exist (it may have been pruned)`
          : `there is no snapshot${spec.namespace ? ` of the namespace "${spec.namespace}"` : " taken without a namespace"} yet: run a snapshot job with action "save" first`,
      );
    }
    // A run limited to a namespace restores only that namespace: another namespace's snapshot
    // (named by id) is refused, and any entry outside the namespace is left out.
    const inside = (key: string | null) => spec.namespace === null || (key !== null && key.startsWith(spec.namespace));
    if (!inside(snapshot.namespace)) {
      // The snapshot's own namespace is not named: it may be another tenant's.
      throw new Error(`snapshot ${snapshot.id} is not a snapshot of this run's namespace "${spec.namespace}"`);
    }
    const entries = (await decodeSnapshot(snapshot.data, snapshot.createdAt)).filter((entry) => inside(entry.key));
    return {
      items: pagesOf(entries),
      total: entries.length,
      keyOf: (entry) => entry.key,
      process: async (batch) => {
        // Each value keeps only what is left of its life since the save (a job TTL may shorten it,
        // never lengthen it); a value past its expiry is skipped, not served as fresh.
        const now = this.o.clock.now();
        const restorable: Array<{ key: string; value: unknown; ttlSeconds?: number; tags?: string[] }> = [];
        for (const entry of batch) {
          const left = secondsLeft(entry, now);
          if (left === 0) continue;
          const ttlSeconds = left === null ? spec.ttlSeconds : Math.min(left, spec.ttlSeconds ?? left);
          restorable.push({ key: entry.key, value: entry.value, ...(ttlSeconds ? { ttlSeconds } : {}), ...(entry.tags?.length ? { tags: entry.tags } : {}) });
        }
        if (restorable.length > 0) await this.o.cache.store(restorable);
        return { warmed: restorable.length, skipped: batch.length - restorable.length };
      },
    };
  }
}
