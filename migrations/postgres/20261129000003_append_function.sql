-- The writer's fast path (eventstore's `postgres/fast.rs`): a whole group in one statement and
-- one round trip, planned from what the writer remembers. Under the writers' commit lock, the
-- head must be the one the writer expects — else nothing is written and -1 returned (another
-- process appended: the writer re-plans against what is stored). A stale stream version or a
-- retried event id collides on a unique key, which aborts the statement; the writer re-plans.
-- `hold` keeps the transaction open that many seconds before it commits (tests only).
CREATE FUNCTION podledger_append(
    positions bigint[], ids uuid[], streams text[], versions bigint[], types text[],
    schema_versions int[], payloads text[], orgs uuid[], actors text[], correlations uuid[],
    causations uuid[], recorded bigint, occurred bigint[], expected_head bigint,
    hold double precision
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    head bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(8101804671383136114);
    SELECT COALESCE(MAX(position), 0) INTO head FROM events;
    IF head <> expected_head THEN
        RETURN -1;
    END IF;
    INSERT INTO events (position, event_id, stream_id, stream_version, event_type,
        schema_version, payload, org_id, actor, correlation_id, causation_id, recorded_at,
        occurred_at)
    SELECT p, i, s, v, t, sv, pl, o, a, c, ca, recorded, oc
    FROM UNNEST(positions, ids, streams, versions, types, schema_versions, payloads, orgs,
        actors, correlations, causations, occurred)
        AS u(p, i, s, v, t, sv, pl, o, a, c, ca, oc);
    head := expected_head + cardinality(positions);
    PERFORM pg_notify('podledger_events', head::text);
    IF hold > 0 THEN
        PERFORM pg_sleep(hold);
    END IF;
    RETURN head;
END
$$;
