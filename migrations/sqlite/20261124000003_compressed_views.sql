-- Persisted views become compressed binary: a large pod's view is megabytes of JSON text, and
-- writing it (twice: WAL, then checkpoint) was most of a rebuild's time.
-- Persisted views are a cache of the events: the old ones are dropped with their checkpoint,
-- and the next start folds the log again (on every core, see projections' `catch_up`).
DROP TABLE read_models;
CREATE TABLE read_models (
    kind     TEXT    NOT NULL,   -- 'org' | 'pod' | 'kpi'
    id       BLOB    NOT NULL,   -- 16-byte UUID of the org, pod or KPI
    org_id   BLOB    NOT NULL,
    position INTEGER NOT NULL,   -- last global position applied to this view
    body     BLOB    NOT NULL,   -- the view encoded and compressed (see projections' `persist`)
    PRIMARY KEY (kind, id)
) STRICT;
DELETE FROM projection_checkpoints;
