-- Every run-time change of the cache policy (Settings, admin): who made it, when, what it
-- targeted (`l1` or `namespace <ns>`), and the settings before and after (NULL: none). Rows are
-- only ever inserted.
CREATE TABLE policy_audit (
    id       BIGSERIAL PRIMARY KEY,
    at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor    TEXT NOT NULL,
    target   TEXT NOT NULL,
    before   JSONB,
    after    JSONB,
    version  BIGINT NOT NULL
);
