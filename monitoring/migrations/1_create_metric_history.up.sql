-- Merged metric snapshots over time, downsampled by resolution (see monitoring/).
CREATE TABLE metric_history (
    resolution   TEXT NOT NULL CHECK (resolution IN ('1s', '10s', '1m')),
    at           TIMESTAMPTZ NOT NULL,
    snapshot     JSONB NOT NULL,
    PRIMARY KEY (resolution, at)
);
