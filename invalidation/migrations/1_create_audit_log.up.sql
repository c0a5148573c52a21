-- The invalidation audit trail: one row per request, chained by hash (see invalidation/).
CREATE TABLE audit_log (
    seq          BIGSERIAL PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor        TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('keys', 'pattern', 'tags')),
    target       JSONB NOT NULL,
    reason       TEXT,
    dry_run      BOOLEAN NOT NULL DEFAULT false,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'failed')),
    matched      BIGINT,
    deleted      BIGINT,
    duration_ms  DOUBLE PRECISION,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX audit_log_created_at ON audit_log (created_at);
