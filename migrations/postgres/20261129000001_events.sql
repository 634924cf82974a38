-- The event log on PostgreSQL: the columns of the SQLite log (migrations/sqlite), with native
-- UUIDs. Append-only: triggers refuse UPDATE, DELETE and TRUNCATE.
CREATE TABLE events (
    position       BIGINT  PRIMARY KEY,          -- global position: 1, 2, 3… in commit order
    event_id       UUID    NOT NULL UNIQUE,      -- idempotency key
    stream_id      TEXT    NOT NULL,
    stream_version BIGINT  NOT NULL,             -- 1-based version within the stream
    event_type     TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    payload        TEXT    NOT NULL,             -- JSON text as written (jsonb would reorder it)
    org_id         UUID    NOT NULL,
    actor          TEXT    NOT NULL,             -- member:<uuid> | service:<uuid>
    correlation_id UUID    NOT NULL,
    causation_id   UUID,
    recorded_at    BIGINT  NOT NULL,             -- microseconds since the Unix epoch, UTC
    occurred_at    BIGINT,                       -- business time; NULL reads as recorded_at
    UNIQUE (stream_id, stream_version)
);

-- The audit log and the organisation's event feed read events by organisation in order;
-- `asOf` by time seeks an organisation's last event at or before a business time.
CREATE INDEX events_by_org ON events (org_id, position);
CREATE INDEX events_by_org_time ON events (org_id, (COALESCE(occurred_at, recorded_at)), position);

CREATE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END
$$;

CREATE TRIGGER events_are_never_changed BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();
CREATE TRIGGER events_are_never_truncated BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only();
