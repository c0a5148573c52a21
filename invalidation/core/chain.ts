/**
 * The audit log's hash chain: every row's `hash` is sha256 over the previous row's hash and a
 * canonical encoding of the row's own fields, so changing, removing or reordering any row breaks
 * the chain from that row on.
 *
 * The canonical encoding is a JSON array of the fields in a fixed order, with objects' keys
 * sorted (JSONB does not keep key order), timestamps as ISO-8601 strings with milliseconds and
 * integers as numbers (the driver returns BIGINT as strings). What is hashed is exactly what
 * Postgres gives back, so verification needs nothing but the rows.
 */
import { createHash } from "node:crypto";

export const GENESIS_HASH = "0".repeat(64);

export type AuditEvent = "requested" | "completed" | "failed";
export type InvalidationKind = "keys" | "pattern" | "tags";

/** A row as appended, before the writer numbers and chains it. */
export interface AuditEntry {
  requestId: string;
  event: AuditEvent;
  recordedAt: Date;
  actor: string;
  kind: InvalidationKind;
  target: unknown;
  reason: string | null;
  dryRun: boolean;
  matched: number | null;
  deleted: number | null;
  instances: number | null;
  durationMs: number | null;
  error: string | null;
}

export interface AuditRow extends AuditEntry {
  seq: number;
  prevHash: string;
  hash: string;
}

/** JSON with object keys sorted at every depth. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.keys(value as object)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(",")}}`;
}

export function rowHash(prevHash: string, seq: number, entry: AuditEntry): string {
  const fields = [
    seq,
    entry.requestId,
    entry.event,
    entry.recordedAt.toISOString(),
    entry.actor,
    entry.kind,
    JSON.parse(canonicalJson(entry.target)),
    entry.reason,
    entry.dryRun,
    entry.matched,
    entry.deleted,
    entry.instances,
    entry.durationMs,
    entry.error,
  ];
  return createHash("sha256").update(prevHash).update("\n").update(canonicalJson(fields)).digest("hex");
}

/** Numbers and chains `entries` after the row `{seq, hash}` (or the genesis). */
export function chain(after: { seq: number; hash: string } | null, entries: readonly AuditEntry[]): AuditRow[] {
  let seq = after?.seq ?? 0;
  let prevHash = after?.hash ?? GENESIS_HASH;
  return entries.map((entry) => {
    seq += 1;
    const hash = rowHash(prevHash, seq, entry);
    const row = { ...entry, seq, prevHash, hash };
    prevHash = hash;
    return row;
  });
}

export interface ChainBreak {
  seq: number;
  requestId: string;
  problem: string;
}

/**
 * Checks rows in `seq` order, page by page; keeps only the last row between pages. Returns the
 * first break, or null.
 */
export class ChainVerifier {
  private last: { seq: number; hash: string } | null = null;
  checked = 0;

  constructor(start: { seq: number; hash: string } | null = null) {
    this.last = start;
  }

  /** Checks the next rows; returns the first break among them, or null. */
  check(rows: Iterable<AuditRow>): ChainBreak | null {
    for (const row of rows) {
      const expectedSeq = (this.last?.seq ?? 0) + 1;
      const expectedPrev = this.last?.hash ?? GENESIS_HASH;
      const at = { seq: row.seq, requestId: row.requestId };
      if (row.seq !== expectedSeq) return { ...at, problem: `expected row ${expectedSeq} next, found row ${row.seq}: rows are missing` };
      if (row.prevHash !== expectedPrev) return { ...at, problem: "prev_hash does not match the previous row's hash" };
      if (rowHash(row.prevHash, row.seq, row) !== row.hash) return { ...at, problem: "the row's contents do not match its hash: it was altered" };
      this.last = { seq: row.seq, hash: row.hash };
      this.checked += 1;
    }
    return null;
  }
}
