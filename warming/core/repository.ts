/**
 * Warming's state in PostgreSQL: jobs, runs (the durable queue), hot-key observations and
 * snapshots. Every statement is parameterised; time comes from the caller's clock (`now`), so the
 * same code is tested with a fake clock on PGlite and runs on a shared server in production.
 *
 * Parameters cross as text, JSON or bytes only (timestamps as ISO strings, lists as JSON), so the
 * repository behaves the same on `pg`, PGlite and Encore's driver.
 */
import { listOf } from "../../lib/literal-union.ts";
import type { Row, Sql } from "../../lib/sql.ts";
import { WarmingConflictError } from "./errors.ts";
import type { ErrorSample, RunProgress } from "./runner.ts";
import type { JobDefinition, RunSpec, SourceSpec } from "./spec.ts";

export type RunStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";
export const RUN_STATUSES = listOf<RunStatus>()("queued", "running", "succeeded", "failed", "cancelled");
export type RunTrigger = "schedule" | "manual" | "rewarm";

export interface Job extends JobDefinition {
  id: number;
  scheduledThrough: number;
  createdAt: number;
  updatedAt: number;
}

export interface Run {
  id: number;
  jobId: number | null;
  jobName: string | null;
  trigger: RunTrigger;
  reason: string | null;
  dueAt: number | null;
  status: RunStatus;
  priority: number;
  spec: RunSpec;
  total: number | null;
  warmed: number;
  failed: number;
  skipped: number;
  batches: number;
  retries: number;
  errorSamples: ErrorSample[];
  error: string | null;
  cancelRequested: boolean;
  workerId: string | null;
  heartbeatAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  createdAt: number;
}

export interface NewRun {
  jobId?: number | null;
  jobName?: string | null;
  trigger: RunTrigger;
  reason?: string | null;
  priority: number;
  spec: RunSpec;
  total?: number | null;
}

export interface SnapshotRecord {
  id: number;
  jobId: number | null;
  namespace: string | null;
  keyCount: number;
  rawBytes: number;
  compressedBytes: number;
  data: Uint8Array;
  createdAt: number;
}

/** Serialises claims across instances so the global running limit holds (pg_advisory_xact_lock key). */
const CLAIM_LOCK_KEY = 7_305_001;

const iso = (epochMs: number) => new Date(epochMs).toISOString();
const ms = (value: unknown): number | null => (value === null || value === undefined ? null : new Date(value as string | Date).getTime());
const num = (value: unknown): number => Number(value);
const json = <T>(value: unknown): T => (typeof value === "string" ? (JSON.parse(value) as T) : (value as T));

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; sqlState?: string; message?: string } | null;
  return e?.sqlState === "23505" || e?.code === "23505" || /duplicate key|unique constraint/i.test(e?.message ?? "");
}

function toJob(row: Row): Job {
  return {
    id: num(row.id),
    name: row.name,
    enabled: row.enabled,
    schedule: row.schedule ?? null,
    timeZone: row.time_zone,
    source: json<SourceSpec>(row.source),
    namespace: row.namespace ?? null,
    priority: num(row.priority),
    batchSize: num(row.batch_size),
    concurrency: num(row.concurrency),
    ttlSeconds: row.ttl_seconds === null || row.ttl_seconds === undefined ? null : num(row.ttl_seconds),
    scheduledThrough: ms(row.scheduled_through)!,
    createdAt: ms(row.created_at)!,
    updatedAt: ms(row.updated_at)!,
  };
}

function toRun(row: Row): Run {
  return {
    id: num(row.id),
    jobId: row.job_id === null ? null : num(row.job_id),
    jobName: row.job_name ?? null,
    trigger: row.trigger,
    reason: row.reason ?? null,
    dueAt: ms(row.due_at),
    status: row.status,
    priority: num(row.priority),
    spec: json<RunSpec>(row.spec),
    total: row.total === null ? null : num(row.total),
    warmed: num(row.warmed),
    failed: num(row.failed),
    skipped: num(row.skipped),
    batches: num(row.batches),
    retries: num(row.retries),
    errorSamples: json<ErrorSample[]>(row.error_samples) ?? [],
    error: row.error ?? null,
    cancelRequested: row.cancel_requested,
    workerId: row.worker_id ?? null,
    heartbeatAt: ms(row.heartbeat_at),
    startedAt: ms(row.started_at),
    finishedAt: ms(row.finished_at),
    createdAt: ms(row.created_at)!,
  };
}

export class WarmingRepository {
  constructor(private readonly sql: Sql) {}

  // ------------------------------------------------------------------------------------------
  // Jobs
  // ------------------------------------------------------------------------------------------

  /** Inserts a job; its schedule counts from `now`. Throws WarmingConflictError on a taken name. */
  async createJob(def: JobDefinition, now: number): Promise<Job> {
    const [row] = await this.sql.query(
      `INSERT INTO warming_jobs (name, enabled, schedule, time_zone, source, namespace, priority, batch_size, concurrency, ttl_seconds, scheduled_through, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11::timestamptz, $11::timestamptz, $11::timestamptz)
       ON CONFLICT (name) DO NOTHING RETURNING *`,
      [
        def.name,
        def.enabled,
        def.schedule,
        def.timeZone,
        JSON.stringify(def.source),
        def.namespace,
        def.priority,
        def.batchSize,
        def.concurrency,
        def.ttlSeconds,
        iso(now),
      ],
    );
    if (!row) throw new WarmingConflictError(`a job named "${def.name}" already exists: pick another name or PUT /api/warming/jobs/:id to change it`);
    return toJob(row);
  }

  async getJob(id: number): Promise<Job | null> {
    const [row] = await this.sql.query(`SELECT * FROM warming_jobs WHERE id = $1`, [id]);
    return row ? toJob(row) : null;
  }

  /** Jobs by id, `limit` per page after `afterId`. */
  async listJobs(options: { afterId?: number; limit: number }): Promise<Job[]> {
    const rows = await this.sql.query(`SELECT * FROM warming_jobs WHERE id > $1 ORDER BY id LIMIT $2`, [options.afterId ?? 0, options.limit]);
    return rows.map(toJob);
  }

  /**
   * Replaces a job's definition. When the schedule, its time zone or `enabled` changes, the
   * schedule counts from `now` again (no run for due times that passed while it was different).
   */
  async updateJob(id: number, def: JobDefinition, now: number): Promise<Job | null> {
    try {
      const [row] = await this.sql.query(
        `UPDATE warming_jobs SET name = $2, enabled = $3, schedule = $4, time_zone = $5, source = $6::jsonb, namespace = $7, priority = $8,
                batch_size = $9, concurrency = $10, ttl_seconds = $11, updated_at = $12::timestamptz,
                scheduled_through = CASE WHEN schedule IS DISTINCT FROM $4 OR time_zone <> $5 OR enabled <> $3 THEN $12::timestamptz ELSE scheduled_through END
         WHERE id = $1 RETURNING *`,
        [
          id,
          def.name,
          def.enabled,
          def.schedule,
          def.timeZone,
          JSON.stringify(def.source),
          def.namespace,
          def.priority,
          def.batchSize,
          def.concurrency,
          def.ttlSeconds,
          iso(now),
        ],
      );
      return row ? toJob(row) : null;
    } catch (error) {
      if (isUniqueViolation(error)) throw new WarmingConflictError(`a job named "${def.name}" already exists: pick another name`, { cause: error });
      throw error;
    }
  }

  /** Deletes a job; its runs stay in the history (job id cleared, name kept). */
  async deleteJob(id: number): Promise<boolean> {
    return (await this.sql.query(`DELETE FROM warming_jobs WHERE id = $1 RETURNING id`, [id])).length > 0;
  }

  /** Enabled jobs with a schedule: the ones a tick looks at. */
  async scheduledJobs(): Promise<Job[]> {
    return (await this.sql.query(`SELECT * FROM warming_jobs WHERE enabled AND schedule IS NOT NULL ORDER BY id`)).map(toJob);
  }

  /**
   * Enqueues the run of `jobId` for the due time `dueAt`, once: the job row is advanced only if
   * its schedule has not reached `dueAt` yet (concurrent ticks wait on the row lock, then see
   * it moved), and the UNIQUE (job_id, due_at) constraint refuses a second run regardless.
   * Returns the run id, or null when another tick (here or on another instance) took it.
   */
  async enqueueDue(jobId: number, dueAt: number, now: number): Promise<number | null> {
    const [row] = await this.sql.query(
      `WITH claimed AS (
         UPDATE warming_jobs SET scheduled_through = $2::timestamptz
         WHERE id = $1 AND enabled AND schedule IS NOT NULL AND scheduled_through < $2::timestamptz
         RETURNING id, name, priority, source, namespace, batch_size, concurrency, ttl_seconds
       )
       INSERT INTO warming_runs (job_id, job_name, trigger, due_at, status, priority, spec, created_at)
       SELECT id, name, 'schedule', $2::timestamptz, 'queued', priority,
              jsonb_build_object('source', source, 'namespace', namespace, 'batchSize', batch_size, 'concurrency', concurrency, 'ttlSeconds', ttl_seconds),
              $3::timestamptz
       FROM claimed
       ON CONFLICT (job_id, due_at) DO NOTHING
       RETURNING id`,
      [jobId, iso(dueAt), iso(now)],
    );
    return row ? num(row.id) : null;
  }

  // ------------------------------------------------------------------------------------------
  // Runs: the durable priority queue
  // ------------------------------------------------------------------------------------------

  async enqueueRun(run: NewRun, now: number): Promise<number> {
    const [row] = await this.sql.query(
      `INSERT INTO warming_runs (job_id, job_name, trigger, reason, status, priority, spec, total, created_at)
       VALUES ($1, $2, $3, $4, 'queued', $5, $6::jsonb, $7, $8::timestamptz) RETURNING id`,
      [run.jobId ?? null, run.jobName ?? null, run.trigger, run.reason ?? null, run.priority, JSON.stringify(run.spec), run.total ?? null, iso(now)],
    );
    return num(row.id);
  }

  /**
   * Takes up to `slots` queued runs for `workerId`, highest priority first (oldest first within a
   * priority), without letting the number of running runs across all instances exceed
   * `globalLimit`. Claims are serialised by an advisory lock, so the limit holds under races.
   */
  async claim(workerId: string, now: number, slots: number, globalLimit: number): Promise<Run[]> {
    if (slots <= 0) return [];
    return this.sql.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock($1)`, [CLAIM_LOCK_KEY]);
      const rows = await tx.query(
        `UPDATE warming_runs SET status = 'running', worker_id = $1, started_at = $2::timestamptz, heartbeat_at = $2::timestamptz
         WHERE id IN (
           SELECT id FROM warming_runs WHERE status = 'queued'
           ORDER BY priority DESC, id
           LIMIT GREATEST(0, LEAST($3::int, $4::int - (SELECT count(*)::int FROM warming_runs WHERE status = 'running')))
           FOR UPDATE SKIP LOCKED
         )
         RETURNING *`,
        [workerId, iso(now), slots, globalLimit],
      );
      return rows.map(toRun).sort((a, b) => b.priority - a.priority || a.id - b.id);
    });
  }

  /**
   * Saves a running run's progress and renews its lease. `owned: false` means the run is no
   * longer this worker's (it was reaped or finished elsewhere): the worker must stop.
   */
  async saveProgress(runId: number, workerId: string, progress: RunProgress, now: number): Promise<{ owned: boolean; cancelRequested: boolean }> {
    const [row] = await this.sql.query(
      `UPDATE warming_runs SET total = $3, warmed = $4, failed = $5, skipped = $6, batches = $7, retries = $8, error_samples = $9::jsonb, heartbeat_at = $10::timestamptz
       WHERE id = $1 AND worker_id = $2 AND status = 'running' RETURNING cancel_requested`,
      [
        runId,
        workerId,
        progress.total,
        progress.warmed,
        progress.failed,
        progress.skipped,
        progress.batches,
        progress.retries,
        JSON.stringify(progress.errorSamples),
        iso(now),
      ],
    );
    return row ? { owned: true, cancelRequested: Boolean(row.cancel_requested) } : { owned: false, cancelRequested: false };
  }

  /** Renews the lease only. Same answer as `saveProgress`. */
  async heartbeat(runId: number, workerId: string, now: number): Promise<{ owned: boolean; cancelRequested: boolean }> {
    const [row] = await this.sql.query(
      `UPDATE warming_runs SET heartbeat_at = $3::timestamptz WHERE id = $1 AND worker_id = $2 AND status = 'running' RETURNING cancel_requested`,
      [runId, workerId, iso(now)],
    );
    return row ? { owned: true, cancelRequested: Boolean(row.cancel_requested) } : { owned: false, cancelRequested: false };
  }

  /** Records a run's outcome; false when the run was no longer this worker's. */
  async finish(
    runId: number,
    workerId: string,
    status: "succeeded" | "failed" | "cancelled",
    progress: RunProgress,
    error: string | null,
    now: number,
  ): Promise<boolean> {
    const rows = await this.sql.query(
      `UPDATE warming_runs SET status = $3, error = $4, total = $5, warmed = $6, failed = $7, skipped = $8, batches = $9, retries = $10,
              error_samples = $11::jsonb, finished_at = $12::timestamptz, heartbeat_at = $12::timestamptz
       WHERE id = $1 AND worker_id = $2 AND status = 'running' RETURNING id`,
      [
        runId,
        workerId,
        status,
        error,
        progress.total,
        progress.warmed,
        progress.failed,
        progress.skipped,
        progress.batches,
        progress.retries,
        JSON.stringify(progress.errorSamples),
        iso(now),
      ],
    );
    return rows.length > 0;
  }

  /**
   * Marks as failed every running run whose worker has not renewed its lease for `leaseMs`: the
   * worker died (crash, SIGKILL, lost network). Returns the runs it failed.
   */
  async reapExpired(now: number, leaseMs: number): Promise<Array<{ id: number; workerId: string | null }>> {
    const rows = await this.sql.query(
      `UPDATE warming_runs SET status = 'failed', finished_at = $1::timestamptz,
              error = 'worker ' || coalesce(worker_id, '?') || ' stopped renewing its lease (last heartbeat ' || to_char(heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '); the run was abandoned'
       WHERE status = 'running' AND heartbeat_at < $2::timestamptz RETURNING id, worker_id`,
      [iso(now), iso(now - leaseMs)],
    );
    return rows.map((r) => ({ id: num(r.id), workerId: r.worker_id ?? null }));
  }

  /**
   * Cancels a run: a queued one at once, a running one by flagging it (its worker stops before
   * its next batch). Returns the status after the call, or null when there is no such run.
   */
  async cancel(runId: number, now: number): Promise<{ status: RunStatus; changed: boolean } | null> {
    const [row] = await this.sql.query(
      `UPDATE warming_runs SET cancel_requested = true,
              status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
              finished_at = CASE WHEN status = 'queued' THEN $2::timestamptz ELSE finished_at END
       WHERE id = $1 AND status IN ('queued', 'running') RETURNING status`,
      [runId, iso(now)],
    );
    if (row) return { status: row.status, changed: true };
    const [existing] = await this.sql.query(`SELECT status FROM warming_runs WHERE id = $1`, [runId]);
    return existing ? { status: existing.status, changed: false } : null;
  }

  async getRun(id: number): Promise<Run | null> {
    const [row] = await this.sql.query(`SELECT * FROM warming_runs WHERE id = $1`, [id]);
    return row ? toRun(row) : null;
  }

  /** Runs newest first, filtered, `limit` per page before `beforeId`. */
  async listRuns(options: { jobId?: number; status?: RunStatus; beforeId?: number; limit: number }): Promise<Run[]> {
    const rows = await this.sql.query(
      `SELECT * FROM warming_runs
       WHERE ($1::bigint IS NULL OR job_id = $1) AND ($2::text IS NULL OR status = $2) AND ($3::bigint IS NULL OR id < $3)
       ORDER BY id DESC LIMIT $4`,
      [options.jobId ?? null, options.status ?? null, options.beforeId ?? null, options.limit],
    );
    return rows.map(toRun);
  }

  async queueDepth(): Promise<{ queued: number; running: number }> {
    const [row] = await this.sql.query(
      `SELECT count(*) FILTER (WHERE status = 'queued')::int AS queued, count(*) FILTER (WHERE status = 'running')::int AS running
       FROM warming_runs WHERE status IN ('queued', 'running')`,
    );
    return { queued: num(row?.queued ?? 0), running: num(row?.running ?? 0) };
  }

  /** Deletes finished runs older than `before` (history retention). */
  async pruneRuns(before: number): Promise<number> {
    return (
      await this.sql.query(`DELETE FROM warming_runs WHERE status IN ('succeeded', 'failed', 'cancelled') AND created_at < $1::timestamptz RETURNING id`, [
        iso(before),
      ])
    ).length;
  }

  // ------------------------------------------------------------------------------------------
  // Hot-key observations
  // ------------------------------------------------------------------------------------------

  /** Records hot keys for a bucket; a key seen twice in a bucket keeps its highest count. */
  async recordObservations(bucket: number, observations: ReadonlyArray<{ key: string; count: number }>): Promise<void> {
    if (observations.length === 0) return;
    await this.sql.query(
      `INSERT INTO warming_hot_observations (bucket, key, count)
       SELECT $1::timestamptz, o.key, o.count FROM jsonb_to_recordset($2::jsonb) AS o(key text, count double precision)
       ON CONFLICT (bucket, key) DO UPDATE SET count = GREATEST(warming_hot_observations.count, EXCLUDED.count)`,
      [iso(bucket), JSON.stringify(observations)],
    );
  }

  /** Observations inside any of `windows` ([from, to] epoch ms), limited to `namespace`. */
  async observationsIn(windows: ReadonlyArray<[number, number]>, namespace: string | null, limit = 10_000): Promise<Array<{ key: string; count: number }>> {
    if (windows.length === 0) return [];
    const rows = await this.sql.query(
      `SELECT o.key, sum(o.count) AS count
       FROM warming_hot_observations o
       JOIN jsonb_to_recordset($1::jsonb) AS w(f timestamptz, t timestamptz) ON o.bucket BETWEEN w.f AND w.t
       WHERE $2::text IS NULL OR starts_with(o.key, $2::text)
       GROUP BY o.key ORDER BY sum(o.count) DESC, o.key LIMIT $3`,
      [JSON.stringify(windows.map(([f, t]) => ({ f: iso(f), t: iso(t) }))), namespace, limit],
    );
    return rows.map((r) => ({ key: r.key, count: Number(r.count) }));
  }

  async pruneObservations(before: number): Promise<number> {
    return (await this.sql.query(`DELETE FROM warming_hot_observations WHERE bucket < $1::timestamptz RETURNING bucket`, [iso(before)])).length;
  }

  // ------------------------------------------------------------------------------------------
  // Snapshots (L3)
  // ------------------------------------------------------------------------------------------

  /** Stores a snapshot and keeps only the newest `keep` of its namespace. */
  async saveSnapshot(
    snapshot: {
      jobId: number | null;
      runId: number | null;
      namespace: string | null;
      keyCount: number;
      rawBytes: number;
      compressedBytes: number;
      data: Buffer;
    },
    now: number,
    keep: number,
  ): Promise<number> {
    const [row] = await this.sql.query(
      `INSERT INTO warming_snapshots (job_id, run_id, namespace, key_count, raw_bytes, compressed_bytes, data, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::timestamptz) RETURNING id`,
      [snapshot.jobId, snapshot.runId, snapshot.namespace, snapshot.keyCount, snapshot.rawBytes, snapshot.compressedBytes, snapshot.data, iso(now)],
    );
    await this.sql.query(
      `DELETE FROM warming_snapshots WHERE namespace IS NOT DISTINCT FROM $1::text
         AND id NOT IN (SELECT id FROM warming_snapshots WHERE namespace IS NOT DISTINCT FROM $1::text ORDER BY id DESC LIMIT $2)`,
      [snapshot.namespace, keep],
    );
    return num(row.id);
  }

  /** A snapshot by id, or the newest one of `namespace` (null = the snapshots taken without one). */
  async loadSnapshot(options: { id?: number; namespace: string | null }): Promise<SnapshotRecord | null> {
    const rows =
      options.id !== undefined
        ? await this.sql.query(`SELECT * FROM warming_snapshots WHERE id = $1`, [options.id])
        : await this.sql.query(`SELECT * FROM warming_snapshots WHERE namespace IS NOT DISTINCT FROM $1::text ORDER BY id DESC LIMIT 1`, [options.namespace]);
    const row = rows[0];
    if (!row) return null;
    return {
      id: num(row.id),
      jobId: row.job_id === null ? null : num(row.job_id),
      namespace: row.namespace ?? null,
      keyCount: num(row.key_count),
      rawBytes: num(row.raw_bytes),
      compressedBytes: num(row.compressed_bytes),
      data: row.data as Uint8Array,
      createdAt: ms(row.created_at)!,
    };
  }
}
