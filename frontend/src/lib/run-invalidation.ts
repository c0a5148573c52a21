/**
 * Running an invalidation from the dashboard and following it to the end: submit (the service
 * answers at once with an id), then poll its record until it is final. When the invalidation
 * service is not deployed, keys are deleted through cache-manager's batch delete instead (no
 * audit row), in chunks, with progress.
 */
import { ApiError } from "../api/client";
import { deleteKeys } from "../api/cache";
import { FINAL_STATUSES, getInvalidation, invalidateKeys, type InvalidationAccepted, type InvalidationRecord } from "../api/invalidation";

export interface Progress {
  phase: "submitting" | "running" | "done" | "failed";
  /** 0..1 when known. */
  fraction: number | null;
  text: string;
  record?: InvalidationRecord;
  deleted?: number;
  /** "invalidation" (audited) or "cache-manager" (fallback). */
  via?: "invalidation" | "cache-manager";
  errors?: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls an accepted invalidation until it is final (or `timeoutMs` passes). */
export async function follow(accepted: InvalidationAccepted, onProgress: (p: Progress) => void, timeoutMs = 60_000): Promise<InvalidationRecord> {
  const deadline = Date.now() + timeoutMs;
  let record = { id: accepted.id, status: accepted.state } as InvalidationRecord;
  for (let delay = 150; !FINAL_STATUSES.has(record.status) && Date.now() < deadline; delay = Math.min(delay * 1.5, 1_000)) {
    onProgress({ phase: "running", fraction: null, text: `${record.status}…`, record, via: "invalidation" });
    await sleep(delay);
    record = await getInvalidation(accepted.id);
  }
  return record;
}

/** Invalidates `keys`; reports progress; resolves with the final progress. */
export async function invalidateKeyList(keys: string[], reason: string, onProgress: (p: Progress) => void): Promise<Progress> {
  onProgress({ phase: "submitting", fraction: 0, text: `Submitting ${keys.length} keys…` });
  try {
    const accepted = await invalidateKeys({ keys, reason: reason || undefined });
    const record = await follow(accepted, onProgress);
    const failed = record.status === "failed";
    const done: Progress = {
      phase: failed ? "failed" : "done",
      fraction: 1,
      text: failed ? `Failed: ${record.error ?? "see the audit trail"}` : `Invalidated: ${record.deleted ?? "?"} of ${keys.length} keys deleted`,
      record,
      deleted: record.deleted ?? undefined,
      via: "invalidation",
    };
    onProgress(done);
    return done;
  } catch (error) {
    if (!(error instanceof ApiError && error.notDeployed)) {
      const failed: Progress = { phase: "failed", fraction: null, text: (error as Error).message, errors: [(error as Error).message] };
      onProgress(failed);
      return failed;
    }
  }
  // Fallback: cache-manager's batch delete, 1,000 keys a call.
  let deleted = 0;
  const errors: string[] = [];
  for (let i = 0; i < keys.length; i += 1000) {
    const chunk = keys.slice(i, i + 1000);
    try {
      deleted += (await deleteKeys(chunk)).deleted;
    } catch (error) {
      errors.push(`keys ${i + 1}–${i + chunk.length}: ${(error as Error).message}`);
    }
    onProgress({ phase: "running", fraction: Math.min(1, (i + chunk.length) / keys.length), text: `Deleted ${deleted} so far…`, via: "cache-manager" });
  }
  const done: Progress = {
    phase: errors.length ? "failed" : "done",
    fraction: 1,
    text: `Deleted ${deleted} of ${keys.length} keys (cache-manager; the invalidation service is not deployed, so there is no audit row)`,
    deleted,
    via: "cache-manager",
    errors,
  };
  onProgress(done);
  return done;
}
