/**
 * The audit log on this service's PostgreSQL database: the writer's transaction (advisory lock,
 * chain tail, duplicate check, one-statement batch insert), the paged trail and the verifier's
 * pages.
 */
import type { SQLDatabase, Transaction } from "encore.dev/storage/sqldb";
import type { AuditEvent, AuditRow, InvalidationKind } from "./core/chain";
import type { AuditStore, AuditTransaction } from "./core/writer";

/** Any 64-bit number, the same for every process writing this log. */
const AUDIT_LOCK_ID = 7_270_011;

interface DbRow {
  seq: string | number;
  request_id: string;
  event: AuditEvent;
  recorded_at: Date;
  actor: string;
  kind: InvalidationKind;
  target: unknown;
  reason: string | null;
  dry_run: boolean;
  matched: string | number | null;
  deleted: string | number | null;
  instances: number | null;
  duration_ms: number | null;
  error: string | null;
  prev_hash: string;
  hash: string;
}

const num = (value: string | number | null) => (value === null ? null : Number(value));

export function fromDb(row: DbRow): AuditRow {
  return {
    seq: Number(row.seq),
    requestId: row.request_id,
    event: row.event,
    recordedAt: new Date(row.recorded_at),
    actor: row.actor,
    kind: row.kind,
    target: row.target,
    reason: row.reason,
    dryRun: row.dry_run,
    matched: num(row.matched),
    deleted: num(row.deleted),
    instances: row.instances,
    durationMs: row.duration_ms,
    error: row.error,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

function toDb(row: AuditRow): Record<string, unknown> {
  return {
    seq: row.seq,
    request_id: row.requestId,
    event: row.event,
    recorded_at: row.recordedAt.toISOString(),
    actor: row.actor,
    kind: row.kind,
    target: row.target,
    reason: row.reason,
    dry_run: row.dryRun,
    matched: row.matched,
    deleted: row.deleted,
    instances: row.instances,
    duration_ms: row.durationMs,
    error: row.error,
    prev_hash: row.prevHash,
    hash: row.hash,
  };
}

function transactionOps(tx: Transaction): AuditTransaction {
  return {
    lock: () => tx.rawExec("SELECT pg_advisory_xact_lock($1)", AUDIT_LOCK_ID),
    last: async () => {
      const row = await tx.rawQueryRow<{ seq: string; hash: string }>("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
      return row && { seq: Number(row.seq), hash: row.hash };
    },
    existing: async (keys) => {
      const rows = await tx.rawQueryAll<DbRow>("SELECT * FROM audit_log WHERE request_id = ANY($1::text[])", [...new Set(keys.map((k) => k.requestId))]);
      return rows.map(fromDb);
    },
    // One statement for the whole batch: the rows travel as one JSON array.
    insert: (rows) => tx.rawExec("INSERT INTO audit_log SELECT * FROM jsonb_populate_recordset(NULL::audit_log, $1::jsonb)", JSON.stringify(rows.map(toDb))),
  };
}

export function postgresAuditStore(db: SQLDatabase): AuditStore {
  return {
    async transaction(work) {
      const tx = await db.begin();
      try {
        const result = await work(transactionOps(tx));
        await tx.commit();
        return result;
      } catch (error) {
        await tx.rollback().catch(() => undefined);
        throw error;
      }
    },
  };
}

export type RequestStatus = "pending" | "completed" | "failed";

export interface RequestFilter {
  actor?: string;
  kind?: InvalidationKind;
  status?: RequestStatus;
  from?: Date;
  to?: Date;
  /** Requests older than this `seq` (the previous page's cursor). */
  before?: number;
  limit: number;
}

/** A request row joined with its outcome row, if any. */
export interface RequestRecord {
  request: AuditRow;
  outcome: AuditRow | null;
}

const COLUMNS = [
  "seq",
  "request_id",
  "event",
  "recorded_at",
  "actor",
  "kind",
  "target",
  "reason",
  "dry_run",
  "matched",
  "deleted",
  "instances",
  "duration_ms",
  "error",
  "prev_hash",
  "hash",
];
const OUTCOME_COLUMNS = COLUMNS.map((column) => `o.${column} AS o_${column}`).join(", ");

function splitJoined(row: Record<string, unknown>): RequestRecord {
  const request: Record<string, unknown> = {};
  const outcome: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(row)) {
    if (column.startsWith("o_")) outcome[column.slice(2)] = value;
    else request[column] = value;
  }
  return { request: fromDb(request as unknown as DbRow), outcome: outcome.seq == null ? null : fromDb(outcome as unknown as DbRow) };
}

const JOINED = `SELECT r.*, ${OUTCOME_COLUMNS} FROM audit_log r LEFT JOIN audit_log o ON o.request_id = r.request_id AND o.event <> 'requested' WHERE r.event = 'requested'`;

export async function listRequests(db: SQLDatabase, f: RequestFilter): Promise<RequestRecord[]> {
  const rows = await db.rawQueryAll(
    `${JOINED}
       AND ($1::text IS NULL OR r.actor = $1)
       AND ($2::text IS NULL OR r.kind = $2)
       AND ($3::text IS NULL OR coalesce(o.event, 'pending') = $3)
       AND ($4::timestamptz IS NULL OR r.recorded_at >= $4)
       AND ($5::timestamptz IS NULL OR r.recorded_at < $5)
       AND ($6::bigint IS NULL OR r.seq < $6)
     ORDER BY r.seq DESC LIMIT $7`,
    f.actor ?? null,
    f.kind ?? null,
    f.status ?? null,
    f.from ?? null,
    f.to ?? null,
    f.before ?? null,
    f.limit,
  );
  return rows.map(splitJoined);
}

export async function getRequest(db: SQLDatabase, requestId: string): Promise<RequestRecord | null> {
  const row = await db.rawQueryRow(`${JOINED} AND r.request_id = $1`, requestId);
  return row && splitJoined(row);
}

/** Rows after `afterSeq`, in order, for the verifier. */
export async function rowsAfter(db: SQLDatabase, afterSeq: number, limit: number): Promise<AuditRow[]> {
  return (await db.rawQueryAll<DbRow>("SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2", afterSeq, limit)).map(fromDb);
}
