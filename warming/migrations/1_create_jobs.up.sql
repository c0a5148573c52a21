-- Warming jobs and their runs (see warming/).
CREATE TABLE warming_jobs (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    enabled      BOOLEAN NOT NULL DEFAULT true,
    schedule     TEXT,
    time_zone    TEXT NOT NULL DEFAULT 'UTC',
    source       JSONB NOT NULL,
    namespace    TEXT NOT NULL,
    priority     SMALLINT NOT NULL DEFAULT 5 CHECK (priority BETWEEN 1 AND 10),
    batch_size   INTEGER NOT NULL DEFAULT 100 CHECK (batch_size > 0),
    concurrency  INTEGER NOT NULL DEFAULT 4 CHECK (concurrency > 0),
    ttl_seconds  INTEGER,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE warming_runs (
    id           BIGSERIAL PRIMARY KEY,
    job_id       BIGINT REFERENCES warming_jobs (id) ON DELETE SET NULL,
    due_at       TIMESTAMPTZ,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    warmed       BIGINT NOT NULL DEFAULT 0,
    failed       BIGINT NOT NULL DEFAULT 0,
    skipped      BIGINT NOT NULL DEFAULT 0,
    started_at   TIMESTAMPTZ,
    finished_at  TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- A scheduled due time runs once, however many instances see it.
    UNIQUE (job_id, due_at)
);
