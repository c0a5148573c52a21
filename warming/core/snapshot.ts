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
  /** Remaining TTL when the snapshot was taken (-1 = none). */
  ttlMs: number;
  tags?: string[];
}

export interface EncodedSnapshot {
  data: Buffer;
  rawBytes: number;
  compressedBytes: number;
  count: number;
}

const FORMAT = 1;

export async function encodeSnapshot(entries: readonly SnapshotEntry[]): Promise<EncodedSnapshot> {
  const raw = Buffer.from(JSON.stringify({ format: FORMAT, entries }), "utf8");
  const data = await gzipAsync(raw, { level: 6 });
  return { data, rawBytes: raw.length, compressedBytes: data.length, count: entries.length };
}

/** Decodes a snapshot; throws when the data is not one (corrupt, or another format). */
export async function decodeSnapshot(data: Uint8Array): Promise<SnapshotEntry[]> {
  const raw = await gunzipAsync(Buffer.from(data));
  const parsed = JSON.parse(raw.toString("utf8")) as { format?: number; entries?: SnapshotEntry[] };
  if (parsed.format !== FORMAT || !Array.isArray(parsed.entries)) throw new Error(`not a warming snapshot (format ${String(parsed.format)})`);
  return parsed.entries;
}
