//! The audit log of an organisation: its events, filtered by stream, actor, type and time
//! range, in position order, paginated by position.

use chrono::{DateTime, Utc};
use podledger_eventstore::StoreError;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::sqlite::SqlitePool;
use uuid::Uuid;

/// What to keep.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditFilter {
    /// One stream (`pod-<id>`…).
    pub stream: Option<String>,
    /// One actor (`member:<id>`, `service:<id>`).
    pub actor: Option<String>,
    /// One event type (`ItemCreated`…).
    pub event_type: Option<String>,
    /// Recorded at or after.
    pub from: Option<DateTime<Utc>>,
    /// Recorded before.
    pub to: Option<DateTime<Utc>>,
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Global position (the pagination cursor).
    pub position: u64,
    /// Event id.
    pub event_id: Uuid,
    /// Stream.
    pub stream: String,
    /// Version within the stream.
    pub stream_version: u64,
    /// Type.
    pub event_type: String,
    /// Who.
    pub actor: String,
    /// When the store committed it.
    pub recorded_at: DateTime<Utc>,
    /// When it happened in the organisation (business time).
    pub occurred_at: DateTime<Utc>,
    /// Request.
    pub correlation_id: Uuid,
    /// Cause.
    pub causation_id: Option<Uuid>,
    /// The event's fields (JSON).
    pub payload: String,
}

/// At most `limit` entries of `org` after position `after` that pass `filter`.
pub async fn audit_log(
    pool: &SqlitePool,
    org: Uuid,
    filter: &AuditFilter,
    after: u64,
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT position, event_id, stream_id, stream_version, event_type, actor, recorded_at, \
         correlation_id, causation_id, payload, ifnull(occurred_at, recorded_at) FROM events \
         WHERE org_id = ?1 AND position > ?2 \
         AND (?3 IS NULL OR stream_id = ?3) AND (?4 IS NULL OR actor = ?4) \
         AND (?5 IS NULL OR event_type = ?5) AND (?6 IS NULL OR recorded_at >= ?6) \
         AND (?7 IS NULL OR recorded_at < ?7) \
         ORDER BY position LIMIT ?8",
    )
    .bind(org)
    .bind(after as i64)
    .bind(filter.stream.as_deref())
    .bind(filter.actor.as_deref())
    .bind(filter.event_type.as_deref())
    .bind(filter.from.map(|t| t.timestamp_micros()))
    .bind(filter.to.map(|t| t.timestamp_micros()))
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await
    .map_err(StoreError::backend)?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                position: r.try_get::<i64, _>(0)? as u64,
                event_id: r.try_get(1)?,
                stream: r.try_get(2)?,
                stream_version: r.try_get::<i64, _>(3)? as u64,
                event_type: r.try_get(4)?,
                actor: r.try_get(5)?,
                recorded_at: DateTime::from_timestamp_micros(r.try_get(6)?).unwrap_or_default(),
                correlation_id: r.try_get(7)?,
                causation_id: r.try_get(8)?,
                payload: r.try_get(9)?,
                occurred_at: DateTime::from_timestamp_micros(r.try_get(10)?).unwrap_or_default(),
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::backend)
}
