/**
 * The answer of a batch get, with its JSON bytes attached (lib/response-json.ts) so the Node host
 * writes them instead of encoding every value again. An L1 hit answers the same value object
 * each time it is read, so each entry's bytes up to its source (`{"key":…,"found":true,"value":…`)
 * are kept per value object, and the bytes of a batch of hits are copied together from those
 * pieces and the few fields that change (source, TTL, tags): a value is walked once, when first
 * answered, instead of once per batch, and the answer is never a string to measure and copy.
 *
 * Cached values are never mutated (an L1 value is shared by every reader already); a value object
 * answered under another key is encoded again. The bytes are exactly those of `JSON.stringify`
 * of the object (batch-json.test.ts checks it over values of every JSON kind).
 */
import { withResponseJson } from "../lib/response-json";
import type { BatchGetEntry, BatchGetResponse } from "./batch";
import type { BatchRead, CacheRead, Source } from "./core/tiered";

/**
 * An entry's bytes up to its TTL (`{"key":…,"found":true,"value":…,"source":"l1","ttlMs":`), for
 * the key and source they were encoded with, and its tags' bytes (`,"tags":[…]}`).
 */
interface EncodedEntry {
  readonly key: string;
  readonly source: Source;
  readonly head: Buffer;
  readonly tags: readonly string[];
  readonly tail: Buffer;
}

/** Per value object; dropped with the value. */
const encoded = new WeakMap<object, EncodedEntry>();

const ascii = (text: string) => Buffer.from(text, "latin1");
const OPEN = ascii('{"entries":[');
const CLOSE = ascii("]}");
const NO_TAGS = ascii(',"tags":[]}');
/** What follows `"source":` up to the TTL, for each source. */
const SOURCE: Record<Source, Buffer> = {
  l1: ascii('"l1","ttlMs":'),
  l2: ascii('"l2","ttlMs":'),
  l3: ascii('"l3","ttlMs":'),
  origin: ascii('"origin","ttlMs":'),
};
/** Room for any number's text (`-1.2345678901234567e+308`). */
const NUMBER_ROOM = 24;
const COMMA = 0x2c;

/** The batch get's answer for `reads` (aligned with the request's keys), its JSON bytes attached. */
export function batchGetResponse(reads: readonly BatchRead[]): BatchGetResponse {
  const entries = new Array<BatchGetEntry>(reads.length);
  // Per entry: its bytes up to the TTL (a miss: all of them), and for a hit what follows the TTL.
  const heads = new Array<Buffer>(reads.length);
  const tails = new Array<Buffer | undefined>(reads.length);
  let room = OPEN.length + CLOSE.length + reads.length;
  for (let i = 0; i < reads.length; i++) {
    const { key, found, read } = reads[i];
    if (found && read) {
      entries[i] = { key, found: true, value: read.value, source: read.source, ttlMs: read.ttlMs, tags: read.tags };
      const entry = encodedEntry(key, read);
      heads[i] = entry.head;
      tails[i] = entry.tail;
      room += entry.head.length + NUMBER_ROOM + entry.tail.length;
    } else {
      entries[i] = { key, found: false };
      heads[i] = Buffer.from(`{"key":${JSON.stringify(key)},"found":false}`);
      room += heads[i].length;
    }
  }
  const out = Buffer.allocUnsafe(room);
  let at = copy(OPEN, out, 0);
  for (let i = 0; i < reads.length; i++) {
    if (i > 0) out[at++] = COMMA;
    at = copy(heads[i], out, at);
    const tail = tails[i];
    if (tail === undefined) continue;
    at = writeNumber(reads[i].read!.ttlMs, out, at);
    at = copy(tail, out, at);
  }
  at = copy(CLOSE, out, at);
  return withResponseJson({ entries }, out.subarray(0, at));
}

/** The kept bytes of `read`'s value answered under `key` (kept when the value is an object). */
function encodedEntry(key: string, { value, source, tags }: CacheRead): EncodedEntry {
  const cacheable = typeof value === "object" && value !== null;
  const kept = cacheable ? encoded.get(value) : undefined;
  if (kept !== undefined && kept.key === key) {
    if (kept.source === source && (kept.tags === tags || (kept.tags.length === 0 && tags.length === 0))) return kept;
    // Another source or other tags (an L2 hit's value read again from L1): the value's bytes stay.
    const valueEnd = kept.head.length - SOURCE[kept.source].length;
    const head = kept.source === source ? kept.head : keptBytes(kept.head.subarray(0, valueEnd), SOURCE[source]);
    const changed = { key, source, head, tags, tail: kept.tags === tags ? kept.tail : tagsTail(tags) };
    encoded.set(value as object, changed);
    return changed;
  }
  // Encoded as a property, as JSON.stringify of the whole entry does: `toJSON` gets the key
  // "value", and a value JSON leaves out (undefined, a function) leaves the property out.
  const property = JSON.stringify({ value });
  const valueBytes = Buffer.from(`{"key":${JSON.stringify(key)},"found":true${property.length > 2 ? `,${property.slice(1, -1)}` : ""},"source":`);
  const entry = { key, source, head: keptBytes(valueBytes, SOURCE[source]), tags, tail: tagsTail(tags) };
  if (cacheable) encoded.set(value, entry);
  return entry;
}

function tagsTail(tags: readonly string[]): Buffer {
  return tags.length === 0 ? NO_TAGS : keptBytes(Buffer.from(`,"tags":${JSON.stringify(tags)}}`));
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
