/**
 * The coherence stream's wire format and the script that appends to it.
 *
 * One stream entry is one batch of keys of one kind:
 *
 *     seq <n>  origin <instance id>  at <epoch ms>  kind set|delete|flush|pattern  keys <JSON array>
 *
 * `seq` is dense: the append script reads the newest entry's `seq` and adds one, in the same
 * atomic step as the XADD. Readers therefore know the exact successor of the last entry they saw,
 * which entry ids (timestamps) cannot tell them: a reader expecting `seq` 41 that receives 57 knows
 * 16 entries were trimmed before it read them; one that receives 3 knows the stream was recreated.
 * The stream is append-only; an XDEL by hand reads as a gap (a harmless, conservative L1 clear).
 */

/**
 * `pattern` entries carry globs (lib/glob.ts) in `keys`: every key they match is invalidated.
 * `restore` is a `set` of values that came from L3 (instances treat it as a set; the L3 copier
 * skips it, since L3 holds those values already).
 */
export type AnnounceKind = "set" | "delete" | "flush" | "pattern" | "restore";

export const ANNOUNCE_KINDS: readonly AnnounceKind[] = ["set", "delete", "flush", "pattern", "restore"];

/** Where a reader stands: the last entry id it handled and that entry's `seq`. */
export interface StreamPosition {
  id: string;
  /** The handled entry's `seq`; `null` when it is unknown (a foreign or malformed entry). */
  seq: number | null;
}

/** Before the first entry of a stream that does not exist yet. */
export const STREAM_ORIGIN: StreamPosition = { id: "0-0", seq: 0 };

export interface CoherenceEntry {
  id: string;
  seq: number;
  origin: string;
  /** Wall-clock time (epoch ms) at which the batch's first key was announced. */
  announcedAt: number;
  kind: AnnounceKind;
  keys: string[];
}

/** Compares two stream ids (`ms-seq`) numerically: negative, zero or positive. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs, aSeq] = splitId(a);
  const [bMs, bSeq] = splitId(b);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  if (aSeq !== bSeq) return aSeq < bSeq ? -1 : 1;
  return 0;
}

function splitId(id: string): [bigint, bigint] {
  const dash = id.indexOf("-");
  return dash < 0 ? [BigInt(id), 0n] : [BigInt(id.slice(0, dash)), BigInt(id.slice(dash + 1))];
}

/** Reads the `seq` field of a raw entry, or `null` when the entry is not one of ours. */
export function entrySeq(fields: readonly string[]): number | null {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === "seq") {
      const seq = Number(fields[i + 1]);
      return Number.isSafeInteger(seq) && seq > 0 ? seq : null;
    }
  }
  return null;
}

/** Decodes a raw XREAD/XRANGE entry; `null` when it is malformed or not written by this module. */
export function parseEntry(id: string, fields: readonly string[]): CoherenceEntry | null {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i], fields[i + 1]);
  const seq = entrySeq(fields);
  const kind = map.get("kind") as AnnounceKind | undefined;
  const announcedAt = Number(map.get("at"));
  const origin = map.get("origin");
  if (seq === null || !kind || !ANNOUNCE_KINDS.includes(kind) || !Number.isFinite(announcedAt) || origin === undefined) return null;
  let keys: unknown;
  try {
    keys = JSON.parse(map.get("keys") ?? "");
  } catch {
    return null;
  }
  if (!Array.isArray(keys) || !keys.every((key) => typeof key === "string")) return null;
  return { id, seq, origin, announcedAt, kind, keys };
}

/** The `run_id` line of `INFO server`: it changes whenever the Redis process restarts. */
export function parseRunId(info: string): string | null {
  const match = /^run_id:([0-9a-f]+)\s*$/m.exec(info);
  return match ? match[1] : null;
}

/** One batch segment as the append script receives it. */
export interface SegmentPayload {
  kind: AnnounceKind;
  keys: readonly string[];
}

/**
 * KEYS[1] = stream. ARGV = maxLen, trim operator (`~` or `=`), origin, announcedAt, then one
 * (kind, keys JSON) pair per entry. Returns {last id, last seq}. A previous entry without a
 * leading `seq` field (written by something else) restarts the count at 1, which readers see as
 * a reset: a conservative L1 clear.
 */
export const APPEND_SCRIPT = `
local newest = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local seq = 0
if newest[1] and newest[1][2][1] == 'seq' then seq = tonumber(newest[1][2][2]) or 0 end
local id = false
for i = 5, #ARGV, 2 do
  seq = seq + 1
  id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], ARGV[1], '*',
    'seq', string.format('%d', seq), 'origin', ARGV[3], 'at', ARGV[4], 'kind', ARGV[i], 'keys', ARGV[i + 1])
end
return {id, seq}
`;

/** The script's arguments for one batch (everything after the key). */
export function appendArgs(maxLen: number, exactTrim: boolean, origin: string, announcedAt: number, segments: readonly SegmentPayload[]): string[] {
  const args = [String(maxLen), exactTrim ? "=" : "~", origin, String(announcedAt)];
  for (const segment of segments) args.push(segment.kind, JSON.stringify(segment.kind === "flush" ? [] : segment.keys));
  return args;
}
