//! The audit log of an organisation: its events, filtered by stream, actor, type and time
//! range, in position order, paginated by position.

use chrono::{DateTime, Utc};
use podledger_eventstore::{Backend, OrgEvents, StoreError};
use serde::{Deserialize, Serialize};
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
    store: &dyn Backend,
    org: Uuid,
    filter: &AuditFilter,
    after: u64,
    limit: usize,
) -> Result<Vec<AuditEntry>, StoreError> {
    let events = store
        .org_events(&OrgEvents {
            org,
            stream: filter.stream.as_deref(),
            actor: filter.actor.as_deref(),
            event_type: filter.event_type.as_deref(),
            from: filter.from,
            to: filter.to,
            after,
            limit,
        })
        .await?;
    Ok(events
        .into_iter()
        .map(|e| AuditEntry {
            occurred_at: e.occurred_at(),
            position: e.position,
            event_id: e.event_id,
            stream: e.stream,
            stream_version: e.stream_version,
            event_type: e.event_type,
            actor: e.metadata.actor,
            recorded_at: e.recorded_at,
            correlation_id: e.metadata.correlation_id,
            causation_id: e.metadata.causation_id,
            payload: e.payload,
        })
        .collect())
}
