/**
 * The answer of a batch get, with its JSON bytes attached (lib/response-json.ts) so the Node host
 * writes them instead of encoding every value again. An L1 hit answers the same value object
 * each time it is read, so each entry's bytes up to its TTL (`{"key":…,"found":true,"value":…,
 * "source":…,"tags":[…],"ttlMs":`; the TTL, the one field that changes between answers, comes
 * last) are kept per value object, and the bytes of a batch of hits are copied together from
 * those pieces and the TTLs: a value is walked once, when first answered, instead of once per
 * batch, and the answer is never a string to measure and copy.
 *
 * Cached values are never mutated (an L1 value is shared by every reader already); a value object
 * answered under another key is encoded again. The bytes are exactly those of `JSON.stringify`
 * of the object (batch-json.test.ts checks it over values of every JSON kind).
 */
import { withResponseJson } from "../lib/response-json";
import type { BatchGetEntry, BatchGetResponse } from "./batch";
import type { BatchRead, CacheRead, Source } from "./core/tiered";

/**
 * An entry's bytes up to its TTL, which comes last (`{"key":…,"found":true,"value":…,"source":"l1",
 * "tags":[…],"ttlMs":`), for the key, source and tags they were encoded with: a hit is one copy,
 * its TTL's digits and a closing brace. `valueEnd`: where the bytes of the key and value end
 * (`…"source":`), kept when only the source or tags change.
 */
interface EncodedEntry {
  readonly key: string;
  readonly source: Source;
  readonly tags: readonly string[];
  readonly head: Buffer;
  readonly valueEnd: number;
}

/** Per value object; dropped with the value. */
const encoded = new WeakMap<object, EncodedEntry>();

const ascii = (text: string) => Buffer.from(text, "latin1");
const OPEN = ascii('{"entries":[');
const CLOSE = ascii("]}");
const SOURCES: readonly Source[] = ["l1", "l2", "l3", "origin"];
/** What follows `"source":` up to the TTL for each source, when the entry has no tags. */
const UNTAGGED = Object.fromEntries(SOURCES.map((source) => [source, ascii(`"${source}","tags":[],"ttlMs":`)])) as Record<Source, Buffer>;
/** Room for any number's text (`-1.2345678901234567e+308`). */
const NUMBER_ROOM = 24;
const COMMA = 0x2c;
const CLOSE_ENTRY = 0x7d;

/**
 * Answers are cut from slabs of this size, as Node's pool does for small buffers: a 30 kB answer
 * allocated alone is an ArrayBuffer of its own to create and sweep, each request. A slab lives
 * until the last answer cut from it has been written and dropped; larger answers stand alone.
 */
const SLAB_BYTES = 1024 * 1024;
const MAX_SLAB_ANSWER = SLAB_BYTES / 8;
let slab = Buffer.allocUnsafeSlow(0);
let slabUsed = 0;

/** `room` bytes to write an answer into; `used(end)` gives back what the answer did not need. */
function answerBuffer(room: number): Buffer {
  if (room > MAX_SLAB_ANSWER) return Buffer.allocUnsafe(room);
  if (slabUsed + room > slab.length) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  return slab.subarray(slabUsed, slabUsed + room);
}

/** The first `end` bytes of `out` (from answerBuffer) as the answer; the rest goes back to the slab. */
function answerOf(out: Buffer, end: number): Buffer {
  // Aligned to 8 bytes, as Node's pool keeps its slices.
  if (out.buffer === slab.buffer) slabUsed = out.byteOffset + ((end + 7) & ~7);
  return out.subarray(0, end);
}

/** The batch get's answer for `reads` (aligned with the request's keys), its JSON bytes attached. */
export function batchGetResponse(reads: readonly BatchRead[]): BatchGetResponse {
  const entries = new Array<BatchGetEntry>(reads.length);
  // Per entry: its bytes up to the TTL (a miss: all of them).
  const heads = new Array<Buffer>(reads.length);
  let room = OPEN.length + CLOSE.length + reads.length;
  for (let i = 0; i < reads.length; i++) {
    const { key, found, read } = reads[i];
    if (found && read) {
      entries[i] = { key, found: true, value: read.value, source: read.source, tags: read.tags, ttlMs: read.ttlMs };
      heads[i] = encodedEntry(key, read).head;
      room += heads[i].length + NUMBER_ROOM + 1;
    } else {
      entries[i] = { key, found: false };
      heads[i] = Buffer.from(`{"key":${JSON.stringify(key)},"found":false}`);
      room += heads[i].length;
    }
  }
  const out = answerBuffer(room);
  let at = copy(OPEN, out, 0);
  for (let i = 0; i < reads.length; i++) {
    if (i > 0) out[at++] = COMMA;
    at = copy(heads[i], out, at);
    const read = reads[i].read;
    if (!reads[i].found || !read) continue;
    at = writeNumber(read.ttlMs, out, at);
    out[at++] = CLOSE_ENTRY;
  }
  at = copy(CLOSE, out, at);
  return withResponseJson({ entries }, answerOf(out, at));
}

/** The kept bytes of `read`'s value answered under `key` (kept when the value is an object). */
function encodedEntry(key: string, { value, source, tags }: CacheRead): EncodedEntry {
  const cacheable = typeof value === "object" && value !== null;
  const kept = cacheable ? encoded.get(value) : undefined;
  if (kept !== undefined && kept.key === key) {
    if (kept.source === source && (kept.tags === tags || (kept.tags.length === 0 && tags.length === 0))) return kept;
    // Another source or other tags (an L2 hit's value read again from L1): the value's bytes stay.
    const changed = { key, source, tags, head: headOf(kept.head.subarray(0, kept.valueEnd), source, tags), valueEnd: kept.valueEnd };
    encoded.set(value as object, changed);
    return changed;
  }
  // Encoded as a property, as JSON.stringify of the whole entry does: `toJSON` gets the key
  // "value", and a value JSON leaves out (undefined, a function) leaves the property out.
  const property = JSON.stringify({ value });
  const valueBytes = Buffer.from(`{"key":${JSON.stringify(key)},"found":true${property.length > 2 ? `,${property.slice(1, -1)}` : ""},"source":`);
  const entry = { key, source, tags, head: headOf(valueBytes, source, tags), valueEnd: valueBytes.length };
  if (cacheable) encoded.set(value, entry);
  return entry;
}

/** An entry's kept bytes: its key and value's, then its source and tags up to the TTL. */
function headOf(valueBytes: Buffer, source: Source, tags: readonly string[]): Buffer {
  return keptBytes(valueBytes, tags.length === 0 ? UNTAGGED[source] : Buffer.from(`"${source}","tags":${JSON.stringify(tags)},"ttlMs":`));
}

/**
 * `parts` joined in memory of their own: a kept piece cut from Node's shared 8 KiB pool would keep
 * that whole slab alive as long as its value lives, whatever became of the other pieces in it.
 */
function keptBytes(...parts: Buffer[]): Buffer {
  let length = 0;
  for (const part of parts) length += part.length;
  const bytes = Buffer.allocUnsafeSlow(length);
  let at = 0;
  for (const part of parts) at = copy(part, bytes, at);
  return bytes;
}

function copy(from: Buffer, to: Buffer, at: number): number {
  to.set(from, at);
  return at + from.length;
}

/**
 * Writes `n` as JSON writes it; returns the end. A whole number below 2^31 (a TTL in ms, up to 24
 * days) digit by digit in integer arithmetic, faster than making its string; others as `String` does.
 */
function writeNumber(n: number, out: Buffer, at: number): number {
  if ((n | 0) === n && n >= 0) {
    let end = at + 1;
    for (let rest = n; rest >= 10; rest = (rest / 10) | 0) end++;
    for (let p = end - 1, rest = n; p >= at; p--) {
      const next = (rest / 10) | 0;
      out[p] = 0x30 + rest - next * 10;
      rest = next;
    }
    return end;
  }
  const text = Number.isFinite(n) ? String(n) : "null";
  for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
  return at + text.length;
}
