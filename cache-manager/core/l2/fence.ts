/**
 * Fill fencing, after the leases of Facebook's memcache ("Scaling Memcache at Facebook", §3.2.1):
 * a value loaded from the origin may only be stored if nothing changed its key since the load
 * began. The fence lives in the key itself, so every existing mutation — SET, UNLINK, a pattern
 * delete's SCAN + UNLINK, a tag delete, a flush — revokes it without knowing about fills, and a
 * check-and-set touches one key, which a Cluster slot or a ring node always holds whole.
 *
 * - A read that misses takes a lease in the same round trip (`fenceRead`): the key is set
 *   to a marker `~lease:<token>` (TTL: the lease's) and the reader loads; other readers see the
 *   marker and wait instead of loading. Warming takes a soft marker `~soft:<token>` that readers
 *   replace rather than wait on, so warming never delays a read (it only loses its store).
 * - A key that holds a value when the load begins (a stale-while-revalidate refresh, a warming
 *   refresh) is fenced by that value's SHA-1: the store succeeds only while the key still holds
 *   exactly those bytes.
 * - `fill` compares and sets in one step; a marker that is gone or replaced, or a value
 *   that changed, refuses the store. The holder renews its marker while it loads
 *   (`RENEW_SCRIPT`) and drops it if the load fails (`RELEASE_SCRIPT`).
 * Markers never decode as envelopes (envelopes are JSON objects), so any other reader treats
 * them as a miss.
 */
import { createHash } from "node:crypto";
import type { ChainableCommander } from "ioredis";

const LEASE = "~lease:";
const SOFT = "~soft:";

/** A fill's fence, opaque to callers: `=<marker>` (the key held our marker) or `#<sha1>` (it held a value). */
export type FillFence = string;

/** What a fenced read found. */
export type FenceRead =
  /** The key holds a value (fresh or not): fence a load by it with `fenceOf(value)`. */
  | { kind: "value"; value: Buffer }
  /** The key was free: it now holds our marker, and `fence` lets the fill store. */
  | { kind: "granted"; fence: FillFence }
  /** Another reader's fill holds the key for `ttlMs` more (renewed while it loads). */
  | { kind: "held"; ttlMs: number };

/** A marker string for `token`; `soft` markers are replaced by readers instead of waited on. */
export function markerOf(token: string, soft = false): string {
  return (soft ? SOFT : LEASE) + token;
}

/** The fence of a load that began while the key held `value`. */
export function fenceOf(value: Buffer | string): FillFence {
  return "#" + createHash("sha1").update(value).digest("hex");
}

/** The fence of a load that began with the key holding `marker`. */
export function markerFence(marker: string): FillFence {
  return "=" + marker;
}

/**
 * Lua: `fenceRead(key, marker, ttl)` returns the key's value (bulk); `{pttl}` when a reader's
 * marker holds the key (or, for a soft request, any marker); else places our marker — on a free
 * key, or over a soft one — and returns 1. A free key (the common miss) costs one command:
 * `SET NX GET` places the marker and tells what was there (Redis ≥ 7.0).
 */
const FENCE_READ_LUA = `local function fenceRead(key, marker, ttl)
  local v = redis.call("SET", key, marker, "NX", "PX", ttl, "GET")
  if not v then return 1 end
  if string.sub(v, 1, ${LEASE.length}) == "${LEASE}" then return { redis.call("PTTL", key) } end
  if string.sub(v, 1, ${SOFT.length}) ~= "${SOFT}" then return v end
  if string.sub(marker, 1, ${SOFT.length}) == "${SOFT}" then return { redis.call("PTTL", key) } end
  redis.call("SET", key, marker, "PX", ttl)
  return 1
end`;

/** KEYS[1] the value key; ARGV: marker, lease TTL (ms). Replies as `fenceRead` (above). */
export const FENCE_READ_SCRIPT = `${FENCE_READ_LUA}
return fenceRead(KEYS[1], ARGV[1], ARGV[2])`;

/**
 * KEYS the value keys (n of them); ARGV: n markers, then n lease TTLs (ms). Replies one
 * `fenceRead` reply per key, in order: a whole batch of reads in one script call, where the node
 * takes keys of any slot (one command and one reply instead of one per key: most of the client's
 * cost of a miss's read, and Redis runs one script instead of n).
 */
export const FENCE_READ_EACH_SCRIPT = `${FENCE_READ_LUA}
local n = #KEYS
local replies = {}
for i = 1, n do replies[i] = fenceRead(KEYS[i], ARGV[i], ARGV[n + i]) end
return replies`;

/**
 * Lua: `fill(key, fence, value, ttl)` stores the value (PX ttl) only when the fence holds: the key
 * still holds the marker (`=<marker>`) or the bytes whose SHA-1 it names (`#<sha1>`). 1 when stored.
 */
const FILL_LUA = `local function fill(key, fence, value, ttl)
  local cur = redis.call("GET", key)
  local ok
  if string.sub(fence, 1, 1) == "=" then ok = cur == string.sub(fence, 2)
  else ok = cur and redis.sha1hex(cur) == string.sub(fence, 2) end
  if not ok then return 0 end
  redis.call("SET", key, value, "PX", ttl)
  return 1
end`;

/** KEYS[1] the value key; ARGV: fence, value, TTL (ms). Stores only when the fence holds; 1 when stored. */
export const FILL_SCRIPT = `${FILL_LUA}
return fill(KEYS[1], ARGV[1], ARGV[2], ARGV[3])`;

/** KEYS the value keys (n); ARGV: n fences, n values, n TTLs (ms). One `fill` flag per key, in order. */
export const FILL_EACH_SCRIPT = `${FILL_LUA}
local n = #KEYS
local stored = {}
for i = 1, n do stored[i] = fill(KEYS[i], ARGV[i], ARGV[n + i], ARGV[2 * n + i]) end
return stored`;

/** KEYS[1] the value key; ARGV: marker, TTL (ms). Extends the marker while it is still ours. */
export const RENEW_SCRIPT = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end
return 0`;

/** KEYS[1] the value key; ARGV: marker. Drops the marker while it is still ours (the load failed). */
export const RELEASE_SCRIPT = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`;

/** Bytes of a value that tell a marker from a value (the longer marker prefix). */
const MARKER_HEAD_BYTES = Math.max(LEASE.length, SOFT.length);

/** Whether a value's first bytes (at least `MARKER_HEAD_BYTES` of them, when it has that many) make it a marker. */
export function isMarkerHead(head: Buffer | string): boolean {
  const text = head.toString("latin1");
  return text.startsWith(LEASE) || text.startsWith(SOFT);
}

/**
 * Lua: `holdsValue(key)` is true when the key holds a value, false when it is missing or holds
 * only a marker. Reads the first bytes only (GETRANGE), so a large value costs no more than a
 * small one; anything that is not a string counts as held.
 */
export const HOLDS_VALUE_LUA = `local function holdsValue(key)
  local head = redis.pcall('GETRANGE', key, 0, ${MARKER_HEAD_BYTES - 1})
  if type(head) ~= 'string' then return true end
  if head == '' then return redis.call('EXISTS', key) == 1 end
  return string.sub(head, 1, ${LEASE.length}) ~= '${LEASE}' and string.sub(head, 1, ${SOFT.length}) ~= '${SOFT}'
end`;

/**
 * KEYS the value keys. Replies one flag per key: 1 when it holds a value, 0 when it is missing or
 * holds only a marker. A marker is no cached value: counts, listings and `exists` leave it out.
 */
export const HOLDS_VALUE_SCRIPT = `${HOLDS_VALUE_LUA}
local flags = {}
for i, key in ipairs(KEYS) do flags[i] = holdsValue(key) and 1 or 0 end
return flags`;

/**
 * For a pipeline that may not run one script over keys of several slots (a Cluster node):
 * queues the two commands `holdsValueOf` reads for one key.
 */
export function enqueueHoldsValue(pipeline: ChainableCommander, redisKey: string): void {
  pipeline.exists(redisKey);
  pipeline.getrangeBuffer(redisKey, 0, MARKER_HEAD_BYTES - 1);
}

/**
 * Whether a key holds a value, from its replies: the flag of `HOLDS_VALUE_SCRIPT` (one reply) or
 * EXISTS and GETRANGE as queued by `enqueueHoldsValue` (two replies).
 */
export function holdsValueOf(replies: readonly unknown[]): boolean {
  if (replies.length === 1) return replies[0] === 1;
  const [exists, head] = replies;
  return exists === 1 && !isMarkerHead(head as Buffer);
}

/** Turns a FENCE_READ reply into a `FenceRead`. */
export function parseFenceRead(reply: unknown, marker: string): FenceRead {
  if (Buffer.isBuffer(reply)) return { kind: "value", value: reply };
  if (typeof reply === "string") return { kind: "value", value: Buffer.from(reply) };
  if (Array.isArray(reply)) return { kind: "held", ttlMs: Math.max(0, Number(reply[0])) };
  return { kind: "granted", fence: markerFence(marker) };
}
