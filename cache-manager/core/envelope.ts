/**
 * What the cache stores for a key, in both tiers: the value, its tags, and when it stops being
 * fresh. A stored entry outlives its freshness by the grace period (the L2 TTL is ttl + grace),
 * so an expired-but-graceful value can be served while it is refreshed (stale-while-revalidate).
 * A negative entry records that the origin had no such key.
 */
export interface Envelope {
  /** The value (JSON). */
  v: unknown;
  /** Tags. */
  t?: string[];
  /** Fresh until, epoch milliseconds. */
  f: number;
  /** Set on negative entries: the origin said "not found". */
  n?: 1;
}

export type Freshness = "fresh" | "stale" | "expired";

export function freshness(envelope: Envelope, now: number, graceMs: number): Freshness {
  if (now < envelope.f) return "fresh";
  return now < envelope.f + graceMs ? "stale" : "expired";
}

export function encodeEnvelope(envelope: Envelope): string {
  return JSON.stringify(envelope);
}

/** Parses a stored envelope; anything unreadable (another writer, corruption) is a miss. */
export function decodeEnvelope(raw: Buffer | string | null): Envelope | null {
  if (raw === null) return null;
  try {
    const parsed = JSON.parse(typeof raw === "string" ? raw : raw.toString("utf8")) as Envelope;
    return parsed && typeof parsed === "object" && typeof parsed.f === "number" ? parsed : null;
  } catch {
    return null;
  }
}
