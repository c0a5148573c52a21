/**
 * This instance's audit writer and metrics: one batching writer per process (the advisory lock
 * orders processes), and the per-second report monitoring merges.
 */
import { randomUUID } from "node:crypto";
import { startReporter } from "../lib/metrics/report";
import type { InvalidationKind } from "./core/chain";
import { AuditWriter } from "./core/writer";
import { postgresAuditStore } from "./audit-store";
import { redis } from "./config";
import { db } from "./db";

let writer: AuditWriter | undefined;

export function auditWriter(): AuditWriter {
  writer ??= new AuditWriter(postgresAuditStore(db));
  return writer;
}

const instanceId = `inv-${process.pid}-${randomUUID().slice(0, 6)}`;
const invalidationsByKind: Record<InvalidationKind, number> = { keys: 0, pattern: 0, tags: 0 };
const totals = { invalidatedKeys: 0, failed: 0 };

/** Counts one recorded outcome (once per request: redeliveries are not recorded twice). */
export function countOutcome(kind: InvalidationKind, deleted: number, failed: boolean): void {
  invalidationsByKind[kind] += 1;
  totals.invalidatedKeys += deleted;
  if (failed) totals.failed += 1;
}

startReporter({
  redis: redis(),
  service: "invalidation",
  instanceId,
  collect: () => {
    const audit = writer?.stats();
    return {
      counters: [
        ...Object.entries(invalidationsByKind).map(([kind, value]) => ({ name: "invalidations", labels: { kind }, value })),
        { name: "invalidated_keys", value: totals.invalidatedKeys },
        { name: "invalidation_failures", value: totals.failed },
        { name: "audit_rows_appended", value: audit?.appended ?? 0 },
      ],
      gauges: [{ name: "audit_writer_queue", value: audit?.queued ?? 0 }],
      sketches: [],
    };
  },
});
