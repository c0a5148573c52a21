-- This L3 database's identity, made once: the instances that copy into it share one consumer
-- group on the coherence stream (`cachet-l3:<id>`), so deployments (or tests) that share a Redis
-- but not an L3 database do not take each other's copies.
CREATE TABLE l3_store (
    id          TEXT PRIMARY KEY
);
INSERT INTO l3_store (id) VALUES (md5(random()::text || clock_timestamp()::text));
