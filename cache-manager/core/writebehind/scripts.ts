/**
 * The queue's Redis state changes, each one Lua script so it is atomic. Every script gets the same
 * KEYS (see `WriteBehindKeys`) and the consumer group as ARGV[1].
 *
 * Per key (field = cache key):
 * - values    latest JSON value not yet written to the origin
 * - versions  counter bumped by every enqueue (tells "still the value I wrote" from "newer")
 * - entries   id of the key's one stream entry, or "retry" while it waits in `retry`
 * - oldest    zset, time of the oldest write not yet applied (for lag)
 * - taken     version a consumer is writing now
 * - after     time of the first write since the take (becomes `oldest` if the key is requeued)
 * - attempts  failed attempts so far
 * - retry     zset, when the key's next attempt is due
 * Plus the stream, the dead-letter stream and a counters hash.
 */

const PRELUDE = `
local STREAM, VALUES, VERSIONS, ENTRIES, OLDEST, TAKEN, AFTER, ATTEMPTS, RETRY, DEAD, COUNTERS =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11]
local GROUP = ARGV[1]

-- the key has nothing left to write
local function forget(key)
  redis.call('HDEL', VALUES, key)
  redis.call('HDEL', VERSIONS, key)
  redis.call('HDEL', ENTRIES, key)
  redis.call('HDEL', TAKEN, key)
  redis.call('HDEL', AFTER, key)
  redis.call('HDEL', ATTEMPTS, key)
  redis.call('ZREM', OLDEST, key)
  redis.call('ZREM', RETRY, key)
end

-- a newer value arrived while the old one was being written: it gets a fresh entry and attempts
local function requeue(key, now)
  local since = redis.call('HGET', AFTER, key) or now
  redis.call('HDEL', AFTER, key)
  redis.call('HDEL', TAKEN, key)
  redis.call('HDEL', ATTEMPTS, key)
  redis.call('ZADD', OLDEST, since, key)
  local id = redis.call('XADD', STREAM, '*', 'key', key)
  redis.call('HSET', ENTRIES, key, id)
  return id
end

-- the stream entry is done with, whatever happened to the write
local function settle(id)
  redis.call('XACK', STREAM, GROUP, id)
  redis.call('XDEL', STREAM, id)
end
`;

/** ARGV: group, key, json, now, maxDepth → {version, entryId, coalesced 0|1} or {-1} when full. */
export const ENQUEUE = `${PRELUDE}
local key, now = ARGV[2], ARGV[4]
local maxDepth = tonumber(ARGV[5])
if maxDepth > 0 and redis.call('HEXISTS', VALUES, key) == 0 and redis.call('HLEN', VALUES) >= maxDepth then
  return {-1, '', 0}
end
redis.call('HSET', VALUES, key, ARGV[3])
local version = redis.call('HINCRBY', VERSIONS, key, 1)
redis.call('ZADD', OLDEST, 'NX', now, key)
if redis.call('HEXISTS', TAKEN, key) == 1 then redis.call('HSETNX', AFTER, key, now) end
redis.call('HINCRBY', COUNTERS, 'enqueued', 1)
local entry = redis.call('HGET', ENTRIES, key)
if entry then
  redis.call('HINCRBY', COUNTERS, 'coalesced', 1)
  return {version, entry, 1}
end
local id = redis.call('XADD', STREAM, '*', 'key', key)
redis.call('HSET', ENTRIES, key, id)
return {version, id, 0}
`;

/** ARGV: group, key, entryId → {json, version, attempts} or nil when the entry is stale (settled). */
export const TAKE = `${PRELUDE}
local key, id = ARGV[2], ARGV[3]
if redis.call('HGET', ENTRIES, key) ~= id then
  settle(id)
  return false
end
local value = redis.call('HGET', VALUES, key)
if not value then
  redis.call('HDEL', ENTRIES, key)
  settle(id)
  return false
end
local version = redis.call('HGET', VERSIONS, key)
redis.call('HSET', TAKEN, key, version)
redis.call('HDEL', AFTER, key)
return {value, version, redis.call('HGET', ATTEMPTS, key) or '0'}
`;

/** ARGV: group, key, entryId, version, now → 0 stale, 1 done, 2 done and a newer value requeued. */
export const COMPLETE = `${PRELUDE}
local key, id = ARGV[2], ARGV[3]
settle(id)
if redis.call('HGET', ENTRIES, key) ~= id then return 0 end
redis.call('HINCRBY', COUNTERS, 'applied', 1)
if redis.call('HGET', VERSIONS, key) == ARGV[4] then
  forget(key)
  return 1
end
requeue(key, ARGV[5])
return 2
`;

/**
 * ARGV: group, key, entryId, version, now, dueAt ('' = dead-letter), error, attempts, json,
 * deadLetterMaxLength → 0 stale, 1 retry scheduled, 2 dead-lettered, 3 dead-lettered and a newer
 * value requeued.
 */
export const FAIL = `${PRELUDE}
local key, id, now = ARGV[2], ARGV[3], ARGV[5]
settle(id)
if redis.call('HGET', ENTRIES, key) ~= id then return 0 end
redis.call('HDEL', TAKEN, key)
if ARGV[6] ~= '' then
  redis.call('HDEL', AFTER, key)
  redis.call('HSET', ATTEMPTS, key, ARGV[8])
  redis.call('HSET', ENTRIES, key, 'retry')
  redis.call('ZADD', RETRY, ARGV[6], key)
  redis.call('HINCRBY', COUNTERS, 'retries', 1)
  return 1
end
redis.call('XADD', DEAD, 'MAXLEN', '~', ARGV[10], '*', 'key', key, 'value', ARGV[9], 'version', ARGV[4], 'attempts', ARGV[8], 'error', ARGV[7], 'at', now)
redis.call('HINCRBY', COUNTERS, 'deadLettered', 1)
if redis.call('HGET', VERSIONS, key) == ARGV[4] then
  forget(key)
  return 2
end
requeue(key, now)
return 3
`;

/**
 * ARGV: group, key → 0 nothing of the key is left to write (a queued value not yet taken was
 * dropped), 1 a write of the key is in flight (retry once it settled). A write-through calls it
 * before it writes the origin, so an older queued value can never land after it.
 */
export const SUPERSEDE = `${PRELUDE}
local key = ARGV[2]
if redis.call('HEXISTS', TAKEN, key) == 1 then return 1 end
if redis.call('HEXISTS', VALUES, key) == 1 then
  redis.call('HINCRBY', COUNTERS, 'superseded', 1)
  forget(key)
end
return 0
`;

/** ARGV: group, now, limit → how many due retries went back on the stream. */
export const PROMOTE = `${PRELUDE}
local due = redis.call('ZRANGEBYSCORE', RETRY, '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, key in ipairs(due) do
  redis.call('ZREM', RETRY, key)
  if redis.call('HGET', ENTRIES, key) == 'retry' then
    local id = redis.call('XADD', STREAM, '*', 'key', key)
    redis.call('HSET', ENTRIES, key, id)
  end
end
return #due
`;
