-- Warming jobs, their runs, hot-key observations and value snapshots (see warming/README.md).
CREATE TABLE warming_jobs (
    id                 BIGSERIAL PRIMARY KEY,
    name               TEXT NOT NULL UNIQUE,
    enabled            BOOLEAN NOT NULL DEFAULT true,
    -- 5-field cron expression evaluated in time_zone; NULL = triggered by hand only.
    schedule           TEXT,
    time_zone          TEXT NOT NULL DEFAULT 'UTC',
    -- {"type": "keys" | "origin" | "hot" | "snapshot", ...options}
    source             JSONB NOT NULL,
    namespace          TEXT,
    priority           SMALLINT NOT NULL DEFAULT 5 CHECK (priority BETWEEN 1 AND 10),
    batch_size         INTEGER NOT NULL DEFAULT 100 CHECK (batch_size BETWEEN 1 AND 1000),
    concurrency        INTEGER NOT NULL DEFAULT 4 CHECK (concurrency BETWEEN 1 AND 32),
    ttl_seconds        INTEGER CHECK (ttl_seconds > 0),
    -- Due times up to and including this instant have been enqueued (or predate the schedule).
    scheduled_through  TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE warming_runs (
    id               BIGSERIAL PRIMARY KEY,
    job_id           BIGINT REFERENCES warming_jobs (id) ON DELETE SET NULL,
    job_name         TEXT,
    trigger          TEXT NOT NULL CHECK (trigger IN ('schedule', 'manual', 'rewarm')),
    reason           TEXT,
    due_at           TIMESTAMPTZ,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    priority         SMALLINT NOT NULL CHECK (priority BETWEEN 1 AND 10),
    -- The job's settings when the run was enqueued: a later edit or delete does not change it.
    spec             JSONB NOT NULL,
    total            BIGINT,
    warmed           BIGINT NOT NULL DEFAULT 0,
    failed           BIGINT NOT NULL DEFAULT 0,
    skipped          BIGINT NOT NULL DEFAULT 0,
    batches          INTEGER NOT NULL DEFAULT 0,
    retries          INTEGER NOT NULL DEFAULT 0,
    error_samples    JSONB NOT NULL DEFAULT '[]',
    error            TEXT,
    cancel_requested BOOLEAN NOT NULL DEFAULT false,
    worker_id        TEXT,
    heartbeat_at     TIMESTAMPTZ,
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- A scheduled due time runs once, however many instances see it.
    UNIQUE (job_id, due_at)
);

CREATE INDEX warming_runs_queue ON warming_runs (priority DESC, id) WHERE status = 'queued';
CREATE INDEX warming_runs_running ON warming_runs (heartbeat_at) WHERE status = 'running';
CREATE INDEX warming_runs_job ON warming_runs (job_id, id DESC);
CREATE INDEX warming_runs_status ON warming_runs (status, id DESC);

-- Hot keys seen by cache-manager, per time bucket: the history the `hot` source predicts from.
CREATE TABLE warming_hot_observations (
    bucket  TIMESTAMPTZ NOT NULL,
    key     TEXT NOT NULL,
    count   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (bucket, key)
);

-- The backup tier (L3): compressed values of the hottest keys.
CREATE TABLE warming_snapshots (
    id                BIGSERIAL PRIMARY KEY,
    job_id            BIGINT REFERENCES warming_jobs (id) ON DELETE SET NULL,
    run_id            BIGINT REFERENCES warming_runs (id) ON DELETE SET NULL,
    namespace         TEXT,
    key_count         INTEGER NOT NULL,
    raw_bytes         BIGINT NOT NULL,
    compressed_bytes  BIGINT NOT NULL,
    data              BYTEA NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX warming_snapshots_recent ON warming_snapshots (namespace, id DESC);
