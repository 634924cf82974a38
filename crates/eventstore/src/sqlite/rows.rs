//! Reading events out of SQLite rows.

use chrono::DateTime;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};
use uuid::Uuid;

use crate::store::{EventMetadata, RecordedEvent, StoreError};

macro_rules! select_events {
    ($rest:literal) => {
        concat!(
            "SELECT position, event_id, stream_id, stream_version, event_type, schema_version, payload, \
             org_id, actor, correlation_id, causation_id, recorded_at FROM events ",
            $rest
        )
    };
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn map(row: &SqliteRow) -> Result<RecordedEvent, sqlx::Error> {
    let micros: i64 = row.try_get("recorded_at")?;
    Ok(RecordedEvent {
        position: row.try_get::<i64, _>("position")? as u64,
        event_id: row.try_get("event_id")?,
        stream: row.try_get("stream_id")?,
        stream_version: row.try_get::<i64, _>("stream_version")? as u64,
        event_type: row.try_get("event_type")?,
        schema_version: row.try_get::<i64, _>("schema_version")? as u32,
        payload: row.try_get("payload")?,
        metadata: EventMetadata {
            org_id: row.try_get("org_id")?,
            actor: row.try_get("actor")?,
            correlation_id: row.try_get("correlation_id")?,
            causation_id: row.try_get("causation_id")?,
        },
        recorded_at: DateTime::from_timestamp_micros(micros).unwrap_or_default(),
    })
}

fn map_all(rows: &[SqliteRow]) -> Result<Vec<RecordedEvent>, StoreError> {
    rows.iter()
        .map(map)
        .collect::<Result<_, _>>()
        .map_err(StoreError::backend)
}

pub(super) async fn read_all(
    pool: &SqlitePool,
    after: u64,
    n: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let rows = sqlx::query(select_events!(
        "WHERE position > ?1 ORDER BY position LIMIT ?2"
    ))
    .bind(to_i64(after))
    .bind(limit(n))
    .fetch_all(pool)
    .await
    .map_err(StoreError::backend)?;
    map_all(&rows)
}

pub(super) async fn read_stream(
    pool: &SqlitePool,
    stream: &str,
    after_version: u64,
    n: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let rows = sqlx::query(select_events!(
        "WHERE stream_id = ?1 AND stream_version > ?2 ORDER BY stream_version LIMIT ?3"
    ))
    .bind(stream)
    .bind(to_i64(after_version))
    .bind(limit(n))
    .fetch_all(pool)
    .await
    .map_err(StoreError::backend)?;
    map_all(&rows)
}

pub(super) async fn find_event(
    pool: &SqlitePool,
    event_id: Uuid,
) -> Result<Option<RecordedEvent>, StoreError> {
    let row = sqlx::query(select_events!("WHERE event_id = ?1"))
        .bind(event_id)
        .fetch_optional(pool)
        .await
        .map_err(StoreError::backend)?;
    row.as_ref()
        .map(map)
        .transpose()
        .map_err(StoreError::backend)
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
