//! Reading events out of SQLite: every read fetches a page as one string (see `select_page!`).

use chrono::DateTime;
use sqlx::sqlite::{SqliteConnection, SqlitePool};
use uuid::Uuid;

use crate::store::{EventMetadata, RecordedEvent, StoreError};

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A page of events as one string built by SQLite: one value crosses from the database thread
/// instead of one row per event. Fields are separated by U+001F and events by U+001E; neither
/// can occur in the columns (JSON text escapes control characters; the other fields are ids,
/// numbers and names we write), so nothing needs escaping.
macro_rules! select_page {
    ($filter:literal) => {
        concat!(
            "SELECT group_concat(position || char(31) || hex(event_id) || char(31) || stream_id \
             || char(31) || stream_version || char(31) || event_type || char(31) || schema_version \
             || char(31) || hex(org_id) || char(31) || actor || char(31) || hex(correlation_id) \
             || char(31) || hex(causation_id) || char(31) || recorded_at || char(31) \
             || ifnull(occurred_at, '') || char(31) || payload, char(30)) \
             FROM (SELECT * FROM events ",
            $filter,
            ")"
        )
    };
}

fn corrupt(what: &str) -> StoreError {
    StoreError::backend(std::io::Error::other(format!(
        "unreadable event page: {what}"
    )))
}

fn parse_event(record: &str) -> Result<RecordedEvent, StoreError> {
    // The payload is last, so that `splitn` leaves it whole.
    let mut f = record.splitn(13, '\u{1f}');
    let mut next = |name: &str| f.next().ok_or_else(|| corrupt(name));
    let number = |s: &str, name: &str| s.parse::<u64>().map_err(|_| corrupt(name));
    let uuid = |s: &str| Uuid::try_parse(s).map_err(StoreError::backend);
    let position = number(next("position")?, "position")?;
    let event_id = uuid(next("event_id")?)?;
    let stream = next("stream")?.to_owned();
    let stream_version = number(next("stream_version")?, "stream_version")?;
    let event_type = next("event_type")?.to_owned();
    let schema_version = number(next("schema_version")?, "schema_version")? as u32;
    let org_id = uuid(next("org_id")?)?;
    let actor = next("actor")?.to_owned();
    let correlation_id = uuid(next("correlation_id")?)?;
    let causation = next("causation_id")?;
    let causation_id = if causation.is_empty() {
        None
    } else {
        Some(uuid(causation)?)
    };
    let at: i64 = next("recorded_at")?
        .parse()
        .map_err(|_| corrupt("recorded_at"))?;
    let occurred = next("occurred_at")?;
    let occurred_at = if occurred.is_empty() {
        None
    } else {
        let micros: i64 = occurred.parse().map_err(|_| corrupt("occurred_at"))?;
        Some(DateTime::from_timestamp_micros(micros).ok_or_else(|| corrupt("occurred_at"))?)
    };
    let payload = next("payload")?.to_owned();
    Ok(RecordedEvent {
        position,
        event_id,
        stream,
        stream_version,
        event_type,
        schema_version,
        payload,
        metadata: EventMetadata {
            org_id,
            actor,
            correlation_id,
            causation_id,
            occurred_at,
        },
        recorded_at: DateTime::from_timestamp_micros(at).unwrap_or_default(),
    })
}

fn parse_page(page: Option<String>) -> Result<Vec<RecordedEvent>, StoreError> {
    let Some(page) = page.filter(|p| !p.is_empty()) else {
        return Ok(Vec::new());
    };
    let mut events = page
        .split('\u{1e}')
        .map(parse_event)
        .collect::<Result<Vec<_>, _>>()?;
    // The aggregate follows the subquery's order; sorting an already sorted page is linear.
    events.sort_by_key(|e| e.position);
    Ok(events)
}

pub(super) async fn read_all(
    pool: &SqlitePool,
    after: u64,
    n: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let page: Option<String> = sqlx::query_scalar(select_page!(
        "WHERE position > ?1 ORDER BY position LIMIT ?2"
    ))
    .bind(to_i64(after))
    .bind(limit(n))
    .fetch_one(pool)
    .await
    .map_err(StoreError::backend)?;
    parse_page(page)
}

pub(super) async fn read_stream(
    pool: &SqlitePool,
    stream: &str,
    after_version: u64,
    n: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let page: Option<String> = sqlx::query_scalar(select_page!(
        "WHERE stream_id = ?1 AND stream_version > ?2 ORDER BY stream_version LIMIT ?3"
    ))
    .bind(stream)
    .bind(to_i64(after_version))
    .bind(limit(n))
    .fetch_one(pool)
    .await
    .map_err(StoreError::backend)?;
    let mut events = parse_page(page)?;
    events.sort_by_key(|e| e.stream_version);
    Ok(events)
}

pub(super) async fn find_event(
    pool: &SqlitePool,
    event_id: Uuid,
) -> Result<Option<RecordedEvent>, StoreError> {
    let page: Option<String> = sqlx::query_scalar(select_page!("WHERE event_id = ?1"))
        .bind(event_id)
        .fetch_one(pool)
        .await
        .map_err(StoreError::backend)?;
    Ok(parse_page(page)?.pop())
}

pub(super) async fn head(conn: &mut SqliteConnection) -> Result<u64, StoreError> {
    let head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM events")
        .fetch_one(conn)
        .await
        .map_err(StoreError::backend)?;
    Ok(head as u64)
}

pub(super) async fn last_recorded_at(conn: &mut SqliteConnection) -> Result<i64, StoreError> {
    let at: Option<i64> =
        sqlx::query_scalar("SELECT recorded_at FROM events ORDER BY position DESC LIMIT 1")
            .fetch_optional(conn)
            .await
            .map_err(StoreError::backend)?;
    Ok(at.unwrap_or(0))
}

/// An organisation's events that pass `q` (see [`crate::Backend::org_events`]), as a page.
pub(super) async fn org_events(
    pool: &SqlitePool,
    q: &crate::backend::OrgEvents<'_>,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let page: Option<String> = sqlx::query_scalar(select_page!(
        "WHERE org_id = ?1 AND position > ?2 \
         AND (?3 IS NULL OR stream_id = ?3) AND (?4 IS NULL OR actor = ?4) \
         AND (?5 IS NULL OR event_type = ?5) AND (?6 IS NULL OR recorded_at >= ?6) \
         AND (?7 IS NULL OR recorded_at < ?7) \
         ORDER BY position LIMIT ?8"
    ))
    .bind(q.org)
    .bind(to_i64(q.after))
    .bind(q.stream)
    .bind(q.actor)
    .bind(q.event_type)
    .bind(q.from.map(|t| t.timestamp_micros()))
    .bind(q.to.map(|t| t.timestamp_micros()))
    .bind(limit(q.limit))
    .fetch_one(pool)
    .await
    .map_err(StoreError::backend)?;
    parse_page(page)
}
