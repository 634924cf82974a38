-- Read models: one JSON document per view, written in the same transaction as the checkpoint
-- (the global position the documents reflect), so that a restart resumes exactly there.
CREATE TABLE projection_checkpoints (
    name     TEXT    PRIMARY KEY,
    position INTEGER NOT NULL
) STRICT;

CREATE TABLE read_models (
    kind     TEXT    NOT NULL,   -- 'org' | 'pod' | 'kpi'
    id       BLOB    NOT NULL,   -- 16-byte UUID of the org, pod or KPI
    org_id   BLOB    NOT NULL,
    position INTEGER NOT NULL,   -- last global position applied to this view
    body     TEXT    NOT NULL,   -- JSON
    PRIMARY KEY (kind, id)
) STRICT;

-- The audit log and the organisation's event feed read events by organisation in order.
CREATE INDEX events_by_org ON events (org_id, position);
