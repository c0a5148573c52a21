/**
 * The audit of cache policy changes, in cache-manager's database (`policy_audit`, migration 2):
 * one row per change with the actor (the token's subject), the time, and the settings before and
 * after. Separate from the invalidation audit log, which is hash-chained and holds keys.
 */
import type { Row, SqlQuery } from "../../../lib/sql";
import type { PolicyName } from "../l1/policies";
import type { PolicyChange } from "./registry";

/** Settings as audited: an L1 change fills the first three fields, a namespace change the others. */
export interface AuditedSettings {
  policy?: PolicyName;
  maxEntries?: number;
  maxBytes?: number;
  defaultTtlMs?: number;
  l3?: boolean;
  l3RetentionMs?: number;
}

export interface PolicyAuditEntry {
  id: number;
  /** ISO 8601 time of the change. */
  at: string;
  actor: string;
  /** `l1` or `namespace <ns>`. */
  target: string;
  before: AuditedSettings | null;
  after: AuditedSettings | null;
  /** The version of the shared policy state the change produced. */
  version: number;
}

export const MAX_AUDIT_PAGE = 200;

const toEntry = (row: Row): PolicyAuditEntry => ({
  id: Number(row.id),
  at: new Date(row.at as string | Date).toISOString(),
  actor: row.actor as string,
  target: row.target as string,
  before: (row.before ?? null) as AuditedSettings | null,
  after: (row.after ?? null) as AuditedSettings | null,
  version: Number(row.version),
});

export class PolicyAudit {
  constructor(private readonly sql: SqlQuery) {}

  /** Records one change made by `actor`; returns the stored row. */
  async record(actor: string, change: PolicyChange): Promise<PolicyAuditEntry> {
    const rows = await this.sql.query(
      "INSERT INTO policy_audit (actor, target, before, after, version) VALUES ($1, $2, $3::jsonb, $4::jsonb, $5) RETURNING *",
      [actor, change.target, change.before && JSON.stringify(change.before), change.after && JSON.stringify(change.after), change.version],
    );
    return toEntry(rows[0]);
  }

  /** The newest changes first, `limit` (1..MAX_AUDIT_PAGE) of them, older than the row `beforeId` when given. */
  async list(limit: number, beforeId?: number): Promise<PolicyAuditEntry[]> {
    const rows =
      beforeId === undefined
        ? await this.sql.query("SELECT * FROM policy_audit ORDER BY id DESC LIMIT $1", [limit])
        : await this.sql.query("SELECT * FROM policy_audit WHERE id < $1 ORDER BY id DESC LIMIT $2", [beforeId, limit]);
    return rows.map(toEntry);
  }
}
