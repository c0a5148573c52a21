/**
 * Invalidation requests: validate → audit row (`requested`) → publish → 202 with the request id.
 * cache-manager applies the event (cache-manager/invalidation.ts) and publishes the outcome,
 * which `outcomes.ts` records. Nothing is acknowledged that is not in the audit log, and nothing
 * is published that is not: with PostgreSQL down the request is refused with 503.
 */
import { randomUUID } from "node:crypto";
import { api, APIError, type HttpStatus } from "encore.dev/api";
import { cache_manager } from "~encore/clients";
import { GlobError, matchesEverything, validateGlob } from "../lib/glob";
import { validateInvalidationTags, validateKeys } from "../lib/validation";
import { requireKeyAccess, requirePatternAccess, requireRole, type AuthData } from "../lib/auth/access";
import type { InvalidationKind } from "./core/chain";
import { auditWriter, countOutcome } from "./audit";
import { config } from "./config";
import { invalidations, type InvalidationEvent } from "./topics";

const MAX_KEYS = 1000;
const MAX_REASON = 500;
/** Most matches one preview counts to; the count also stops after examining 1,000,000 keys. */
const MAX_PREVIEW_LIMIT = 100_000;

/** Above this many matching keys, a pattern needs `confirm: true` and the admin role. */
export const confirmThreshold = () => config().INVALIDATION_CONFIRM_THRESHOLD;

interface Common {
  /** Why; recorded in the audit log. */
  reason?: string;
  /** Count what would be removed; remove nothing. */
  dryRun?: boolean;
}

export interface KeysRequest extends Common {
  keys: string[];
  /** Reload the keys through a warming run once they are removed. */
  rewarm?: boolean;
}

export interface PatternRequest extends Common {
  /** Redis glob syntax: `*`, `?`, `[...]`, `\` escapes. */
  pattern: string;
  /** Required (with the admin role) for `*` and for patterns matching more than the threshold. */
  confirm?: boolean;
}

export interface TagsRequest extends Common {
  tags: string[];
}

export interface Accepted {
  /** The request id: `GET /api/invalidations/:id` follows it. */
  id: string;
  state: "pending";
  dryRun: boolean;
  statusUrl: string;
  status: HttpStatus;
}

interface PreviewRequest {
  pattern: string;
  /** Stop counting after this many matches; default 10,000. */
  limit?: number;
}

export interface Preview {
  matched: number;
  /** True when the scan finished: `matched` is the exact count. */
  exact: boolean;
  /** Keys the scan examined. */
  scanned: number;
  sample: string[];
  /** When the scan stopped at its limit: the projected total and how it was projected. */
  estimate: { matched: number; method: string } | null;
  /** Invalidating more keys than this by pattern needs `confirm: true` (admin); clients ask the user before sending it. */
  confirmThreshold: number;
}

/** PostgreSQL text and jsonb hold neither NUL nor unpaired surrogates; true when `value`'s strings have neither. */
function storableText(value: unknown): boolean {
  if (typeof value === "string") return !value.includes("\u0000") && !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(value);
  if (Array.isArray(value)) return value.every(storableText);
  if (value && typeof value === "object") return Object.values(value).every(storableText);
  return true;
}

function globOrThrow(pattern: unknown): string {
  if (typeof pattern !== "string") throw APIError.invalidArgument('"pattern" must be a string glob, e.g. "user:*"');
  try {
    return validateGlob(pattern);
  } catch (error) {
    if (error instanceof GlobError) throw APIError.invalidArgument(`"pattern": ${error.message}`);
    throw error;
  }
}

function reasonOrThrow(reason: string | undefined): string | null {
  if (reason === undefined) return null;
  if (reason.length > MAX_REASON) throw APIError.invalidArgument(`"reason" must be at most ${MAX_REASON} characters`);
  return reason;
}

async function accept(
  auth: AuthData,
  kind: InvalidationKind,
  target: Omit<InvalidationEvent, "requestId" | "kind" | "dryRun" | "acceptedAt">,
  p: Common,
): Promise<Accepted> {
  const requestId = randomUUID();
  const dryRun = p.dryRun ?? false;
  const acceptedAt = new Date();
  const entry = {
    requestId,
    recordedAt: acceptedAt,
    actor: auth.userID,
    kind,
    target,
    reason: reasonOrThrow(p.reason),
    dryRun,
    matched: null,
    deleted: null,
    instances: null,
    durationMs: null,
    error: null,
  };
  // PostgreSQL text cannot hold NUL: refuse it here rather than fail the audit write as "unavailable".
  if (!storableText([target, entry.reason])) {
    throw APIError.invalidArgument("keys, patterns, tags and reason must be valid Unicode text without NUL (\\u0000) characters");
  }
  try {
    await auditWriter().append({ ...entry, event: "requested" });
  } catch {
    throw APIError.unavailable("the audit log (PostgreSQL) is unavailable, so nothing was invalidated; retry later");
  }
  try {
    await invalidations.publish({ requestId, kind, ...target, dryRun, acceptedAt: acceptedAt.getTime() });
  } catch (error) {
    // Recorded as failed, so the trail never shows a request waiting for an event never sent.
    const message = `could not publish the invalidation: ${error instanceof Error ? error.message : String(error)}`;
    await auditWriter()
      .append({ ...entry, recordedAt: new Date(), event: "failed", error: message })
      .catch(() => undefined);
    countOutcome(kind, 0, true);
    throw APIError.unavailable(`${message}; nothing was invalidated, retry later`);
  }
  return { id: requestId, state: "pending", dryRun, statusUrl: `/api/invalidations/${requestId}`, status: 202 };
}

/** Invalidates keys on every tier of every instance. Operator. */
export const invalidateKeys = api({ method: "POST", path: "/api/invalidate", expose: true, auth: true }, async (p: KeysRequest): Promise<Accepted> => {
  const auth = requireRole("operator");
  if (!Array.isArray(p.keys) || p.keys.length === 0 || p.keys.length > MAX_KEYS) {
    throw APIError.invalidArgument(`"keys" must list 1 to ${MAX_KEYS} keys`);
  }
  try {
    validateKeys(p.keys);
  } catch (error) {
    throw APIError.invalidArgument((error as Error).message);
  }
  requireKeyAccess(auth, p.keys);
  return accept(auth, "keys", { keys: [...new Set(p.keys)], ...(p.rewarm ? { rewarm: true } : {}) }, p);
});

/**
 * Invalidates every key matching a glob. `*`, and patterns matching more than the threshold,
 * need `confirm: true` and the admin role (a dry run needs neither). Operator.
 */
export const invalidatePattern = api(
  { method: "POST", path: "/api/invalidate/pattern", expose: true, auth: true },
  async (p: PatternRequest): Promise<Accepted> => {
    const auth = requireRole("operator");
    const pattern = globOrThrow(p.pattern);
    requirePatternAccess(auth, pattern);
    if (!p.dryRun) await requireConfirmation(auth, pattern, p.confirm ?? false);
    return accept(auth, "pattern", { pattern }, p);
  },
);

async function requireConfirmation(auth: AuthData, pattern: string, confirmed: boolean): Promise<void> {
  const threshold = confirmThreshold();
  let why: string | undefined;
  if (matchesEverything(pattern)) {
    why = `the pattern ${JSON.stringify(pattern)} matches every key`;
  } else {
    try {
      const counted = await cache_manager.count({ pattern, limit: threshold + 1 });
      if (counted.count > threshold) why = `the pattern matches more than ${threshold.toLocaleString("en")} keys`;
    } catch (error) {
      // Without a count, only a confirmed admin request may go ahead.
      if (!(confirmed && auth.role === "admin")) {
        throw APIError.unavailable(
          `cannot count the keys this pattern matches (${(error as Error).message}); retry, or send "confirm": true with an admin token`,
        );
      }
    }
  }
  if (why === undefined) return;
  if (!confirmed) throw APIError.invalidArgument(`${why}; send "confirm": true (admin role) to invalidate them, or "dryRun": true to see how many`);
  if (auth.role !== "admin") throw APIError.permissionDenied(`${why}; confirming this needs the admin role, token "${auth.userID}" has ${auth.role}`);
}

/** Invalidates every key carrying any of the tags. Operator; not for namespace-limited tokens. */
export const invalidateTags = api({ method: "POST", path: "/api/invalidate/tags", expose: true, auth: true }, async (p: TagsRequest): Promise<Accepted> => {
  const auth = requireRole("operator");
  try {
    validateInvalidationTags(p.tags);
  } catch (error) {
    throw APIError.invalidArgument((error as Error).message);
  }
  if (auth.namespaces.length > 0) {
    throw APIError.permissionDenied(`tags can span namespaces, so token "${auth.userID}" (limited to ${auth.namespaces.join(", ")}) cannot invalidate by tag`);
  }
  return accept(auth, "tags", { tags: [...new Set(p.tags)] }, p);
});

/** How many keys a pattern matches: exact when the scan finished, else an estimate. Viewer. */
export const preview = api({ method: "GET", path: "/api/invalidate/preview", expose: true, auth: true }, async (p: PreviewRequest): Promise<Preview> => {
  const auth = requireRole("viewer");
  const pattern = globOrThrow(p.pattern);
  requirePatternAccess(auth, pattern);
  const limit = p.limit ?? 10_000;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PREVIEW_LIMIT) {
    throw APIError.invalidArgument(`"limit" must be a whole number from 1 to ${MAX_PREVIEW_LIMIT.toLocaleString("en")}`);
  }
  const counted = await cache_manager.count({ pattern, limit });
  // The keyspace's size and how much of it was scanned are other tenants' data to a limited token.
  if (auth.namespaces.length > 0)
    return {
      matched: counted.count,
      exact: counted.exact,
      scanned: counted.count,
      sample: counted.sample,
      estimate: null,
      confirmThreshold: confirmThreshold(),
    };
  const estimate =
    counted.exact || counted.scanned === 0
      ? null
      : {
          matched: Math.max(counted.count, Math.round((counted.count / counted.scanned) * counted.total)),
          method: `${counted.count} matches in the first ${counted.scanned} of ${counted.total} keys, scaled to all of them`,
        };
  return { matched: counted.count, exact: counted.exact, scanned: counted.scanned, sample: counted.sample, estimate, confirmThreshold: confirmThreshold() };
});
