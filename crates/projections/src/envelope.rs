//! An event together with the metadata projections need (position, time, actor, correlation).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use podledger_domain::{DecodeError, Event};
use podledger_eventstore::handler::decode;
use podledger_eventstore::{RecordedEvent, ScannedEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where and when an event happened, and by whom: what the views keep of an event's
/// metadata (the event id, causation and commit time are the audit log's, read from the store).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// Global position.
    pub position: u64,
    /// Stream (shared: a catch-up hands the same name to every event of the stream).
    pub stream: Arc<str>,
    /// Version of the stream after the event.
    pub stream_version: u64,
    /// Business time: when it happened in the organisation. Every metric and `asOf` by time
    /// follows this clock (see ARCHITECTURE.md, "Two clocks").
    pub occurred_at: DateTime<Utc>,
    /// `member:<id>` or `service:<id>` (shared, as the stream).
    pub actor: Arc<str>,
    /// The request.
    pub correlation_id: Uuid,
    /// The organisation.
    pub org_id: Uuid,
}

/// A decoded event with its metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    /// Metadata.
    pub meta: Meta,
    /// The event.
    pub event: Event,
}

impl Envelope {
    /// Decodes a stored event.
    pub fn decode(recorded: RecordedEvent) -> Result<Self, DecodeError> {
        let occurred_at = recorded.occurred_at();
        Ok(Self {
            event: decode(&recorded)?,
            meta: Meta {
                position: recorded.position,
                stream: recorded.stream.into(),
                stream_version: recorded.stream_version,
                occurred_at,
                actor: recorded.metadata.actor.into(),
                correlation_id: recorded.metadata.correlation_id,
                org_id: recorded.metadata.org_id,
            },
        })
    }

    /// Decodes an event lent by a scan (`Backend::scan_stream`); `stream` is its
    /// stream's name, shared by every event of it.
    pub fn scanned(e: &ScannedEvent<'_>, stream: &Arc<str>) -> Result<Self, DecodeError> {
        Ok(Self {
            event: Event::decode_str(e.stream, e.event_type, e.schema_version, e.payload)?,
            meta: Meta {
                position: e.position,
                stream: Arc::clone(stream),
                stream_version: e.stream_version,
                occurred_at: e.occurred_at,
                actor: e.actor.into(),
                correlation_id: e.correlation_id,
                org_id: e.org_id,
            },
        })
    }
}
