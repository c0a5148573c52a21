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

/**
 * The JSON of a written envelope (`{v, f, t?}`, in that order, as writes build it) whose value's
 * JSON is known already: the value is not walked a second time (the PUT endpoint encoded it to
 * check it can be stored). `valueJson` must be `JSON.stringify(value)` of a JSON value (no
 * `toJSON` that looks at its key); the text is then exactly `encodeEnvelope` of the envelope
 * (envelope.test.ts checks it over values of every JSON kind).
 *
 * @example
 * envelopeJson('{"a":1}', 1700000000000, ["t"]); // '{"v":{"a":1},"f":1700000000000,"t":["t"]}'
 */
export function envelopeJson(valueJson: string, freshUntil: number, tags?: readonly string[]): string {
  // A finite number's JSON is its String(); JSON writes any other as null.
  const f = Number.isFinite(freshUntil) ? String(freshUntil) : "null";
  return tags?.length ? `{"v":${valueJson},"f":${f},"t":${JSON.stringify(tags)}}` : `{"v":${valueJson},"f":${f}}`;
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
