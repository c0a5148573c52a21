/**
 * The one way rows enter the audit log: appends are queued and written in batches, one
 * transaction per batch, under a transaction-scoped advisory lock so that the processes sharing
 * the database take turns. Inside the lock the writer reads the chain's last row, numbers and
 * hashes the batch after it, skips outcomes already recorded (a redelivered result) and inserts
 * the batch with one statement. Hence the chain cannot fork, whatever the concurrency, and a
 * burst of N requests costs about N / batch round trips instead of N.
 *
 * `append` resolves once its row is committed and rejects if the batch failed (Postgres down):
 * the caller must not acknowledge anything it could not record.
 *
 * @example
 * const writer = new AuditWriter(postgresAuditStore(db));
 * const row = await writer.append({ requestId, event: "requested", ... });
 */
import { chain, type AuditEntry, type AuditRow } from "./chain.ts";

/** What the writer needs from the database, inside one transaction. */
export interface AuditTransaction {
  /** Takes the audit log's advisory lock until the transaction ends. */
  lock(): Promise<void>;
  last(): Promise<{ seq: number; hash: string } | null>;
  /** The existing rows for these requests' outcomes (or requests), to skip duplicates. */
  existing(keys: ReadonlyArray<{ requestId: string; outcome: boolean }>): Promise<AuditRow[]>;
  insert(rows: readonly AuditRow[]): Promise<void>;
}

export interface AuditStore {
  transaction<T>(work: (tx: AuditTransaction) => Promise<T>): Promise<T>;
}

/** The entry's row; `created` is false when an identical outcome was already recorded. */
export interface AppendResult {
  row: AuditRow;
  created: boolean;
}

interface Pending {
  entry: AuditEntry;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

export interface AuditWriterStats {
  appended: number;
  batches: number;
  duplicatesSkipped: number;
  failedBatches: number;
  queued: number;
}

const isOutcome = (entry: AuditEntry) => entry.event !== "requested";
const slot = (requestId: string, outcome: boolean) => `${outcome ? "o" : "r"}:${requestId}`;

export class AuditWriter {
  private queue: Pending[] = [];
  private writing: Promise<void> | null = null;
  private readonly counters = { appended: 0, batches: 0, duplicatesSkipped: 0, failedBatches: 0 };

  constructor(
    private readonly store: AuditStore,
    private readonly maxBatch = 500,
  ) {}

  append(entry: AuditEntry): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      this.writing ??= this.drain();
    });
  }

  stats(): AuditWriterStats {
    return { ...this.counters, queued: this.queue.length };
  }

  /** Writes batches until the queue is empty; what arrives meanwhile joins the next batch. */
  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const rows = await this.store.transaction((tx) =>
            this.writeBatch(
              tx,
              batch.map((p) => p.entry),
            ),
          );
          batch.forEach((pending, i) => pending.resolve(rows[i]));
          this.counters.batches += 1;
        } catch (error) {
          this.counters.failedBatches += 1;
          for (const pending of batch) pending.reject(error);
        }
      }
    } finally {
      this.writing = null;
    }
  }

  /** Returns one result per entry: the new row, or the one already recorded for it. */
  private async writeBatch(tx: AuditTransaction, entries: AuditEntry[]): Promise<AppendResult[]> {
    await tx.lock();
    const recorded = new Map<string, AuditRow>();
    for (const row of await tx.existing(entries.map((e) => ({ requestId: e.requestId, outcome: isOutcome(e) })))) {
      recorded.set(slot(row.requestId, isOutcome(row)), row);
    }
    const fresh: AuditEntry[] = [];
    const seen = new Set<string>();
    for (const entry of entries) {
      const key = slot(entry.requestId, isOutcome(entry));
      if (recorded.has(key) || seen.has(key)) continue;
      seen.add(key);
      fresh.push(entry);
    }
    const rows = chain(await tx.last(), fresh);
    if (rows.length > 0) await tx.insert(rows);
    this.counters.appended += rows.length;
    this.counters.duplicatesSkipped += entries.length - rows.length;
    // The first entry for a slot gets the new row; a duplicate (here or earlier) the recorded one.
    const created = new Map(rows.map((row) => [slot(row.requestId, isOutcome(row)), row]));
    return entries.map((entry) => {
      const key = slot(entry.requestId, isOutcome(entry));
      const row = created.get(key);
      if (!row) return { row: recorded.get(key)!, created: false };
      created.delete(key);
      recorded.set(key, row);
      return { row, created: true };
    });
  }
}
