-- The event log. Append-only: triggers refuse UPDATE and DELETE.
CREATE TABLE events (
    position       INTEGER PRIMARY KEY,          -- global position: 1, 2, 3… in commit order
    event_id       BLOB    NOT NULL UNIQUE,      -- 16-byte UUID; idempotency key
    stream_id      TEXT    NOT NULL,
    stream_version INTEGER NOT NULL,             -- 1-based version within the stream
    event_type     TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    payload        TEXT    NOT NULL,             -- JSON
    org_id         BLOB    NOT NULL,
    actor          TEXT    NOT NULL,             -- member:<uuid> | service:<uuid>
    correlation_id BLOB    NOT NULL,
    causation_id   BLOB,
    recorded_at    INTEGER NOT NULL,             -- microseconds since the Unix epoch, UTC
    UNIQUE (stream_id, stream_version)
) STRICT;

CREATE TRIGGER events_are_never_updated BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TRIGGER events_are_never_deleted BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
