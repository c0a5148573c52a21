/**
 * The L3 tier for operators: what it holds and how it is doing. Key rotation is watched here: a
 * key id may leave CACHE_L3_KEY once `byKeyId` shows no entry under it (the background
 * re-encryption moves entries to the current key).
 */
import { api, APIError } from "encore.dev/api";
import { requireRole } from "../lib/auth/access";
import type { L3Status } from "./core/tiered/options";
import { edge } from "./errors";
import { cacheRuntime } from "./runtime";

export interface L3Report {
  /** This instance's view: breaker, invalidations waiting for L3, keys copied. */
  status: L3Status;
  /** Entries held, their stored and raw bytes, and entries per encryption key id. */
  entries: number;
  storedBytes: number;
  rawBytes: number;
  byKeyId: Record<string, number>;
}

/** The L3 tier's status and contents (counts the whole table: an admin's look, not a probe). Admin. */
export const l3Report = api({ method: "GET", path: "/api/l3", expose: true, auth: true }, async (): Promise<L3Report> =>
  edge(async () => {
    requireRole("admin");
    const { cache, l3 } = await cacheRuntime();
    if (!l3) throw APIError.failedPrecondition("the L3 tier is off on this deployment (CACHE_L3=off)");
    return { status: cache.l3Status(), ...(await l3.stats()) };
  }),
);
