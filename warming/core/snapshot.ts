/**
 * The backup tier's format: the values of the hottest keys as JSON, gzip-compressed, so a cold
 * cache (a restart, a Redis flush) can be refilled without asking the origins.
 */
import { gunzip, gzip } from "node:zlib";
import { promisify } from "node:util";

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export interface SnapshotEntry {
  key: string;
  value: unknown;
  /**
   * When the value expires (epoch ms), `null` for none. Absolute, not the TTL left at save time:
   * a restore gives each value only what is left of its life, never a fresh TTL.
   */
  expiresAt: number | null;
  tags?: string[];
}

/** Format 1 stored the TTL left at save time; its reference point is the snapshot's creation. */
interface FormatOneEntry {
  key: string;
  value: unknown;
  ttlMs: number;
  tags?: string[];
}

export interface EncodedSnapshot {
  data: Buffer;
  rawBytes: number;
  compressedBytes: number;
  count: number;
}

const FORMAT = 2;

export async function encodeSnapshot(entries: readonly SnapshotEntry[]): Promise<EncodedSnapshot> {
  const raw = Buffer.from(JSON.stringify({ format: FORMAT, entries }), "utf8");
  const data = await gzipAsync(raw, { level: 6 });
  return { data, rawBytes: raw.length, compressedBytes: data.length, count: entries.length };
}

/**
 * Decodes a snapshot; throws when the data is not one (corrupt, or an unknown format).
 * `createdAt` (epoch ms) dates the TTLs of a format-1 snapshot, saved before expiries were absolute.
 */
export async function decodeSnapshot(data: Uint8Array, createdAt: number): Promise<SnapshotEntry[]> {
  const raw = await gunzipAsync(Buffer.from(data));
  const parsed = JSON.parse(raw.toString("utf8")) as { format?: number; entries?: unknown[] };
  if (!Array.isArray(parsed.entries) || (parsed.format !== FORMAT && parsed.format !== 1))
    throw new Error(`not a warming snapshot (format ${String(parsed.format)})`);
  if (parsed.format === FORMAT) return parsed.entries as SnapshotEntry[];
  return (parsed.entries as FormatOneEntry[]).map(({ ttlMs, ...entry }) => ({ ...entry, expiresAt: ttlMs > 0 ? createdAt + ttlMs : null }));
}

/**
 * Whole seconds of life left at `now` for a restored value, rounded down so it never outlives
 * its original expiry; `null` when it has none, 0 when it has expired (or has under a second).
 */
export function secondsLeft(entry: SnapshotEntry, now: number): number | null {
  return entry.expiresAt === null ? null : Math.max(0, Math.floor((entry.expiresAt - now) / 1000));
}
