-- Merged metric points over time, downsampled by resolution (see monitoring/core/history.ts).
-- summary: counter increases, gauges and percentiles of the point; sketches: the per-tier
-- latency sketches the coarser resolutions are merged from.
CREATE TABLE metric_history (
    resolution   TEXT NOT NULL CHECK (resolution IN ('1s', '10s', '1m')),
    at_ms        BIGINT NOT NULL,
    summary      JSONB NOT NULL,
    sketches     JSONB NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (resolution, at_ms)
);

-- The alert rules in force (one row; absent until the first PUT: the defaults apply).
CREATE TABLE alert_rules (
    id           INT PRIMARY KEY CHECK (id = 1),
    rules        JSONB NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per alert episode: inserted when it fires, completed when it resolves.
CREATE TABLE alert_events (
    id           BIGSERIAL PRIMARY KEY,
    rule_id      TEXT NOT NULL,
    rule_name    TEXT NOT NULL,
    severity     TEXT NOT NULL,
    value        DOUBLE PRECISION,
    threshold    DOUBLE PRECISION NOT NULL,
    message      TEXT NOT NULL,
    fired_at_ms  BIGINT NOT NULL,
    resolved_at_ms BIGINT,
    resolved_value DOUBLE PRECISION
);
CREATE INDEX alert_events_open ON alert_events (rule_id) WHERE resolved_at_ms IS NULL;
CREATE INDEX alert_events_recent ON alert_events (fired_at_ms DESC);
