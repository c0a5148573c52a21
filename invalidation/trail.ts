/** The audit trail, paged and filtered, one request by id, and verification of the hash chain. */
import { api, APIError } from "encore.dev/api";
import { canSeeKey, canUsePattern, requireRole, type AuthData } from "../lib/auth/access";
import { ChainVerifier, type ChainBreak, type InvalidationKind } from "./core/chain";
import { getRequest, listRequests, rowsAfter, type RequestRecord, type RequestStatus } from "./audit-store";
import { auditVerifyCacheMs } from "./config";
import { db } from "./db";

const KINDS: readonly InvalidationKind[] = ["keys", "pattern", "tags"];
const STATUSES: readonly RequestStatus[] = ["pending", "completed", "failed"];
const MAX_PAGE = 200;
const VERIFY_PAGE = 5000;

export interface Invalidation {
  id: string;
  actor: string;
  kind: InvalidationKind;
  /** `{keys}`, `{pattern}` or `{tags}`. */
  target: Record<string, unknown>;
  reason: string | null;
  dryRun: boolean;
  status: RequestStatus;
  requestedAt: Date;
  completedAt: Date | null;
  matched: number | null;
  deleted: number | null;
  /**
   * cache-manager instances live (reporting in the last 3 s) when the outcome was recorded. Each
   * follows the coherence stream and drops its L1 copies when it reads the announcement; this is
   * a count of followers, not of acknowledgements.
   */
  liveInstances: number | null;
  /** From acceptance to the recorded outcome. */
  durationMs: number | null;
  error: string | null;
  /** Position of the request row in the audit chain. */
  seq: number;
}

export interface ListRequest {
  actor?: string;
  kind?: string;
  status?: string;
  from?: Date;
  to?: Date;
  /** `nextCursor` of the previous page. */
  cursor?: string;
  /** Default 50, at most 200. */
  limit?: number;
}

export interface InvalidationPage {
  items: Invalidation[];
  /** Pass as `cursor` for older requests; null on the last page. */
  nextCursor: string | null;
}

export interface VerifyResult {
  intact: boolean;
  /** Rows checked (up to the first break). */
  checked: number;
  firstBad: ChainBreak | null;
}

function toInvalidation({ request, outcome }: RequestRecord): Invalidation {
  return {
    id: request.requestId,
    actor: request.actor,
    kind: request.kind,
    target: request.target as Record<string, unknown>,
    reason: request.reason,
    dryRun: request.dryRun,
    status: outcome ? (outcome.event as RequestStatus) : "pending",
    requestedAt: request.recordedAt,
    completedAt: outcome?.recordedAt ?? null,
    matched: outcome?.matched ?? null,
    deleted: outcome?.deleted ?? null,
    liveInstances: outcome?.instances ?? null,
    durationMs: outcome?.durationMs ?? null,
    error: outcome?.error ?? null,
    seq: request.seq,
  };
}

/**
 * True when a namespace-limited token may see the request: every key, or the whole pattern, is in
 * its namespaces. Tag invalidations span namespaces, so only unlimited tokens see them.
 */
function visibleTo(auth: AuthData, { kind, target }: Pick<Invalidation, "kind" | "target">): boolean {
  if (auth.namespaces.length === 0) return true;
  if (kind === "keys") return Array.isArray(target.keys) && target.keys.every((key) => typeof key === "string" && canSeeKey(auth, key));
  if (kind === "pattern") return typeof target.pattern === "string" && canUsePattern(auth, target.pattern);
  return false;
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined || value === "") return undefined;
  if (!allowed.includes(value as T)) throw APIError.invalidArgument(`"${name}" must be one of ${allowed.join(", ")}; got ${JSON.stringify(value)}`);
  return value as T;
}

/** The audit trail, newest first. Viewer. */
export const list = api({ method: "GET", path: "/api/invalidations", expose: true, auth: true }, async (p: ListRequest): Promise<InvalidationPage> => {
  const auth = requireRole("viewer");
  const limit = p.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw APIError.invalidArgument(`"limit" must be a whole number from 1 to ${MAX_PAGE}`);
  if (p.cursor !== undefined && !/^[1-9]\d{0,15}$/.test(p.cursor)) throw APIError.invalidArgument('"cursor" must be the "nextCursor" of a previous page');
  if (p.actor !== undefined && (p.actor.length > 256 || p.actor.includes("\u0000")))
    throw APIError.invalidArgument('"actor" must be a token name of at most 256 characters');
  if (p.from && p.to && p.from >= p.to) throw APIError.invalidArgument('"from" must be before "to"');
  const records = await listRequests(db, {
    actor: p.actor || undefined,
    kind: oneOf("kind", p.kind, KINDS),
    status: oneOf("status", p.status, STATUSES),
    from: p.from,
    to: p.to,
    before: p.cursor === undefined ? undefined : Number(p.cursor),
    limit,
  });
  const items = records.map(toInvalidation);
  const nextCursor = items.length === limit ? String(items[items.length - 1].seq) : null;
  // Filtered after paging, so a limited token's page may hold fewer than `limit` items.
  return { items: items.filter((item) => visibleTo(auth, item)), nextCursor };
});

/** One request: status, counts, live cache-manager instances, duration. Viewer. */
export const get = api({ method: "GET", path: "/api/invalidations/:id", expose: true, auth: true }, async ({ id }: { id: string }): Promise<Invalidation> => {
  const auth = requireRole("viewer");
  // Request ids are short printable text; anything else (NUL bytes, which PostgreSQL refuses) cannot exist.
  if (!/^[\x20-\x7e]{1,200}$/.test(id)) throw APIError.notFound(`no invalidation request has the id ${JSON.stringify(id.slice(0, 100))}`);
  const record = await getRequest(db, id);
  const found = record && toInvalidation(record);
  // Another namespace's request is "not found", so its existence is not revealed either.
  if (!found || !visibleTo(auth, found)) throw APIError.notFound(`no invalidation request has the id ${JSON.stringify(id)}`);
  return found;
});

/**
 * Recomputes the hash chain over the whole log; reports the first row that breaks it. Viewer.
 * A walk's result answers every call for AUDIT_VERIFY_CACHE_MS (30 s), and calls during a walk share it, so
 * viewers cannot make the instance walk the log over and over.
 */
export const verify = api({ method: "GET", path: "/api/audit/verify", expose: true, auth: true }, async (): Promise<VerifyResult> => {
  requireRole("viewer");
  const now = Date.now();
  if (!lastVerify || (lastVerify.settled && now - lastVerify.at >= auditVerifyCacheMs())) {
    const entry: { at: number; settled: boolean; result: Promise<VerifyResult> } = { at: now, settled: false, result: verifyChain() };
    lastVerify = entry;
    entry.result.then(
      () => (entry.settled = true),
      () => {
        if (lastVerify === entry) lastVerify = undefined; // a failed walk is not remembered
      },
    );
  }
  return lastVerify.result;
});

let lastVerify: { at: number; settled: boolean; result: Promise<VerifyResult> } | undefined;

async function verifyChain(): Promise<VerifyResult> {
  const verifier = new ChainVerifier();
  let after = 0;
  for (;;) {
    const rows = await rowsAfter(db, after, VERIFY_PAGE);
    const broken = verifier.check(rows);
    if (broken) return { intact: false, checked: verifier.checked, firstBad: broken };
    if (rows.length < VERIFY_PAGE) return { intact: true, checked: verifier.checked, firstBad: null };
    after = rows[rows.length - 1].seq;
  }
}
