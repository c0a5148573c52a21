-- The invalidation audit trail (see invalidation/core/chain.ts). Append-only: a request is one
-- `requested` row, and its outcome a later `completed` or `failed` row; no row is ever changed.
-- Each row holds the hash of the previous one, so an edit made behind the trigger's back (by a
-- superuser) breaks the chain at that row, which /api/audit/verify reports.
CREATE TABLE audit_log (
    seq          BIGINT PRIMARY KEY,          -- dense: assigned by the batching writer under a lock
    request_id   TEXT NOT NULL,
    event        TEXT NOT NULL CHECK (event IN ('requested', 'completed', 'failed')),
    recorded_at  TIMESTAMPTZ NOT NULL,
    actor        TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('keys', 'pattern', 'tags')),
    target       JSONB NOT NULL,
    reason       TEXT,
    dry_run      BOOLEAN NOT NULL,
    matched      BIGINT,
    deleted      BIGINT,
    instances    INTEGER,
    duration_ms  DOUBLE PRECISION,
    error        TEXT,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);

-- One request row and at most one outcome per request: a redelivered result changes nothing.
CREATE UNIQUE INDEX audit_log_request ON audit_log (request_id) WHERE event = 'requested';
CREATE UNIQUE INDEX audit_log_outcome ON audit_log (request_id) WHERE event <> 'requested';
CREATE INDEX audit_log_requests_by_time ON audit_log (recorded_at DESC, seq DESC) WHERE event = 'requested';
CREATE INDEX audit_log_actor ON audit_log (actor, seq DESC) WHERE event = 'requested';

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
