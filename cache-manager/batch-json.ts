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
import type { BatchRead, Source } from "./core/tiered";

/** An entry's bytes up to its source, for the key they were encoded under, and its tags' bytes. */
interface EncodedEntry {
  readonly key: string;
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
/** `"l1","ttlMs":` for each source: what follows `"source":`. */
const SOURCE: Record<Source, Buffer> = {
  l1: ascii('"l1","ttlMs":'),
  l2: ascii('"l2","ttlMs":'),
  l3: ascii('"l3","ttlMs":'),
  origin: ascii('"origin","ttlMs":'),
};
/** Room for any source's piece and any number's text (`-1.2345678901234567e+308`). */
const FIELDS_ROOM = 19 + 24;
const COMMA = 0x2c;

/** The batch get's answer for `reads` (aligned with the request's keys), its JSON bytes attached. */
export function batchGetResponse(reads: readonly BatchRead[]): BatchGetResponse {
  const entries = new Array<BatchGetEntry>(reads.length);
  // Per entry: its bytes up to the source (a miss: all of them), and for a hit what follows the TTL.
  const heads = new Array<Buffer>(reads.length);
  const tails = new Array<Buffer | undefined>(reads.length);
  let room = OPEN.length + CLOSE.length + reads.length;
  for (let i = 0; i < reads.length; i++) {
    const { key, found, read } = reads[i];
    if (found && read) {
      entries[i] = { key, found: true, value: read.value, source: read.source, ttlMs: read.ttlMs, tags: read.tags };
      const entry = encodedEntry(key, read.value, read.tags);
      heads[i] = entry.head;
      tails[i] = entry.tail;
      room += entry.head.length + FIELDS_ROOM + entry.tail.length;
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
    const { source, ttlMs } = reads[i].read!;
    at = copy(SOURCE[source], out, at);
    at = writeNumber(ttlMs, out, at);
    at = copy(tail, out, at);
  }
  at = copy(CLOSE, out, at);
  return withResponseJson({ entries }, out.subarray(0, at));
}

/** The kept bytes of `value` answered under `key` with `tags` (kept when `value` is an object). */
function encodedEntry(key: string, value: unknown, tags: readonly string[]): EncodedEntry {
  const cacheable = typeof value === "object" && value !== null;
  const kept = cacheable ? encoded.get(value) : undefined;
  if (kept !== undefined && kept.key === key) {
    if (kept.tags === tags || (kept.tags.length === 0 && tags.length === 0)) return kept;
    const retagged = { ...kept, tags, tail: tagsTail(tags) };
    encoded.set(value as object, retagged);
    return retagged;
  }
  // Encoded as a property, as JSON.stringify of the whole entry does: `toJSON` gets the key
  // "value", and a value JSON leaves out (undefined, a function) leaves the property out.
  const property = JSON.stringify({ value });
  const head = Buffer.from(`{"key":${JSON.stringify(key)},"found":true${property.length > 2 ? `,${property.slice(1, -1)}` : ""},"source":`);
  const entry = { key, head, tags, tail: tagsTail(tags) };
  if (cacheable) encoded.set(value, entry);
  return entry;
}

function tagsTail(tags: readonly string[]): Buffer {
  return tags.length === 0 ? NO_TAGS : Buffer.from(`,"tags":${JSON.stringify(tags)}}`);
}

/** Copies `from` into `to` at `at`; returns the end. Short pieces byte by byte: cheaper than a call into `set`. */
function copy(from: Buffer, to: Buffer, at: number): number {
  const length = from.length;
  if (length > 32) to.set(from, at);
  else for (let i = 0; i < length; i++) to[at + i] = from[i];
  return at + length;
}

/** Writes `n` as JSON writes it; an integer below 2^53 digit by digit, anything else through `String`. */
function writeNumber(n: number, out: Buffer, at: number): number {
  if (!Number.isSafeInteger(n) || n < 0) return at + out.write(Number.isFinite(n) ? String(n) : "null", at, "latin1");
  let digits = 1;
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  for (let p = at + digits - 1; p >= at; p--) {
    const next = Math.floor(n / 10);
    out[p] = 0x30 + n - next * 10;
    n = next;
  }
  return at + digits;
}
