-- Persisted views (projections' `persist`): one encoded document per view, and the checkpoint
-- they hold every event up to, written in one transaction. Replicas folding the same log write
-- here in any order: a view's row and the checkpoint only move forward (see eventstore's
-- `Backend::save_views`).
CREATE TABLE projection_checkpoints (
    name     TEXT   PRIMARY KEY,
    position BIGINT NOT NULL
);

CREATE TABLE read_models (
    kind     TEXT   NOT NULL,   -- 'org' | 'pod' | 'kpi'
    id       UUID   NOT NULL,   -- the org, pod or KPI
    org_id   UUID   NOT NULL,
    position BIGINT NOT NULL,   -- last global position applied to this view
    body     BYTEA  NOT NULL,   -- the view encoded and compressed
    PRIMARY KEY (kind, id)
);
