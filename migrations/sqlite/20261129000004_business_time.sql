-- Business time: when an event happened in the organisation (the context time of the command
-- that decided it; an imported command's `at`), beside `recorded_at`, when the store committed
-- it. NULL (events written before this column existed) reads as `recorded_at`.
ALTER TABLE events ADD COLUMN occurred_at INTEGER; -- microseconds since the Unix epoch, UTC

-- `asOf` by time: an organisation's last event at or before a business time, by index seek
-- (business times never go backwards within an organisation).
CREATE INDEX events_by_org_time ON events (org_id, ifnull(occurred_at, recorded_at), position);
