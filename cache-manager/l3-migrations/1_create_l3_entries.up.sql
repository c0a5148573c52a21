-- The L3 tier (cache-manager/core/l3/postgres.ts): one row per cache key, the value compressed
-- and encrypted (codec.ts). Times are epoch milliseconds, as the cache's clock gives them.
CREATE TABLE l3_entries (
    key         TEXT COLLATE "C" PRIMARY KEY, -- byte order: scans page in the order Redis globs compare, LIKE 'prefix%' range-scans
    expires_at  BIGINT NOT NULL,
    written_at  BIGINT NOT NULL,
    raw_size    INT NOT NULL,                 -- bytes before compression, for stats
    key_id      TEXT NOT NULL,                -- the CACHE_L3_KEY id the payload is encrypted under
    tags        TEXT[] NOT NULL,
    payload     BYTEA NOT NULL                -- [codec][iv][tag][ciphertext]
);
-- Encrypted bytes do not compress: never let TOAST try (pglz on values over 2 kB), only move
-- large payloads out of line.
ALTER TABLE l3_entries ALTER COLUMN payload SET STORAGE EXTERNAL;

-- Tag invalidation (`tags && $1`); untagged entries stay out of the index.
CREATE INDEX l3_entries_tags ON l3_entries USING GIN (tags) WHERE tags <> '{}';
-- Retention (`purgeExpired`) takes the oldest first.
CREATE INDEX l3_entries_expires_at ON l3_entries (expires_at);
-- Re-encryption finds entries under old keys; `open` asks whether a key id is still in use.
CREATE INDEX l3_entries_key_id ON l3_entries (key_id);

-- One check record per key id, sealed under that key: `open` proves CACHE_L3_KEY still holds
-- the key each stored entry was written with.
CREATE TABLE l3_key_checks (
    key_id      TEXT PRIMARY KEY,
    payload     BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);

-- getMany in one round trip under the shared lock. The lock waits out a running invalidation
-- (which holds it exclusively until its L2 delete is done and its L3 delete committed); the
-- SELECT then runs with a fresh snapshot (a VOLATILE function's statements each take one), so
-- it sees that delete. A plain `SELECT ... , pg_advisory_xact_lock_shared()` would not: its
-- snapshot is taken before the lock is granted.
CREATE FUNCTION l3_read(lock_key BIGINT, wanted TEXT[], now_ms BIGINT)
RETURNS TABLE (key TEXT, expires_at BIGINT, written_at BIGINT, key_id TEXT, tags TEXT[], payload BYTEA)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
    PERFORM pg_advisory_xact_lock_shared(lock_key);
    RETURN QUERY
        SELECT e.key::TEXT, e.expires_at, e.written_at, e.key_id, e.tags, e.payload
        FROM l3_entries e
        WHERE e.key = ANY (wanted) AND e.expires_at > now_ms;
END
$$;
