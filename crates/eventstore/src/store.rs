//! The event store contract: what every backend (SQLite and PostgreSQL now, KurrentDB where
//! one runs) must guarantee. The conformance suite in [`crate::conformance`] checks each point.
//!
//! - Append to one or more streams atomically, each with an expected version.
//! - Idempotent by event id: retrying an append returns the original positions.
//! - A global position that strictly increases in commit order, with no gap a reader can see.
//! - Read a stream, read all from a position, subscribe from a position (catch-up, then live,
//!   nothing missed or repeated at the switch).

use std::fmt;
use std::pin::Pin;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::Stream;
use uuid::Uuid;

/// What a writer believes about a stream's version (its number of events).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// No check.
    Any,
    /// The stream must not exist (same as `Exact(0)`).
    NoStream,
    /// The stream must have exactly this many events.
    Exact(u64),
}

impl ExpectedVersion {
    /// Whether a stream currently at `actual` satisfies this expectation.
    pub const fn admits(self, actual: u64) -> bool {
        match self {
            Self::Any => true,
            Self::NoStream => actual == 0,
            Self::Exact(v) => v == actual,
        }
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::NoStream => f.write_str("no stream"),
            Self::Exact(v) => write!(f, "{v}"),
        }
    }
}

/// Metadata of every event (SPEC §8), beside what the store assigns (position, version, time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventMetadata {
    /// The organisation (tenant).
    pub org_id: Uuid,
    /// `member:<id>` or `service:<id>`.
    pub actor: String,
    /// The request that caused it.
    pub correlation_id: Uuid,
    /// The message that caused it, if any.
    pub causation_id: Option<Uuid>,
    /// Business time: when it happened in the organisation — the time of the command that
    /// decided it (an imported command's `at`). `None`: when the store committed it
    /// ([`RecordedEvent::recorded_at`]).
    pub occurred_at: Option<DateTime<Utc>>,
}

/// An event to append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// Unique id; a retry with the same id is answered with the original positions.
    pub event_id: Uuid,
    /// Stable type name.
    pub event_type: String,
    /// Schema version of the payload.
    pub schema_version: u32,
    /// JSON text.
    pub payload: String,
    /// Metadata.
    pub metadata: EventMetadata,
}

/// The events for one stream in an append, with the writer's expectation.
/// A write with no events is a pure condition on that stream's version. A stream may have
/// several writes in one append (commands decided one after another): each later write's
/// expectation is checked against the version the earlier ones leave, and positions follow
/// the order of the writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamWrite {
    /// Stream name, e.g. `pod-<uuid>`.
    pub stream: String,
    /// Expected version before this write (after the append's earlier writes to the stream).
    pub expected: ExpectedVersion,
    /// Events, in order.
    pub events: Vec<NewEvent>,
}

/// A stored event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    /// Global position (1, 2, 3… in commit order, no gaps).
    pub position: u64,
    /// Event id.
    pub event_id: Uuid,
    /// Stream name.
    pub stream: String,
    /// Version of the stream after this event (1-based).
    pub stream_version: u64,
    /// Stable type name.
    pub event_type: String,
    /// Schema version.
    pub schema_version: u32,
    /// JSON text.
    pub payload: String,
    /// Metadata.
    pub metadata: EventMetadata,
    /// When the store committed it (server clock).
    pub recorded_at: DateTime<Utc>,
}

impl RecordedEvent {
    /// Business time: [`EventMetadata::occurred_at`], or the commit time when it has none.
    pub fn occurred_at(&self) -> DateTime<Utc> {
        self.metadata.occurred_at.unwrap_or(self.recorded_at)
    }
}

/// Where an append landed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Position of the first appended event.
    pub first_position: u64,
    /// Position of the last appended event (the consistency token).
    pub last_position: u64,
    /// Each written stream's version after the append, in request order.
    pub stream_versions: Vec<(String, u64)>,
}

/// Why a store operation failed. Display texts are safe to show a client; backend detail
/// stays in the `source` chain for logs.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A stream was not at the expected version; nothing was written.
    #[error("stream {stream} is at version {actual}, expected {expected}")]
    WrongExpectedVersion {
        /// The stream.
        stream: String,
        /// What the writer expected.
        expected: ExpectedVersion,
        /// Its version.
        actual: u64,
    },
    /// An event id was reused for a different append.
    #[error("event id {event_id} was already used by a different append")]
    IdempotencyConflict {
        /// The id.
        event_id: Uuid,
    },
    /// The request itself is malformed (no events, a duplicate id within it, …).
    #[error("invalid append: {0}")]
    InvalidRequest(String),
    /// The backend failed; the detail is in `source`, never in the message.
    #[error("the event store is unavailable")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The store was shut down.
    #[error("the event store is closed")]
    Closed,
}

impl StoreError {
    /// Wraps a backend error.
    pub fn backend(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(error))
    }
}

/// A subscription: every event after a position, in order, then live ones as they commit.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<RecordedEvent, StoreError>> + Send>>;

/// An append-only, multi-stream event store.
#[async_trait]
pub trait EventStore: Send + Sync + fmt::Debug {
    /// Appends atomically to the streams of `writes`: all checks pass and every event is
    /// stored, or nothing is. Durable when it returns `Ok`.
    async fn append(&self, writes: Vec<StreamWrite>) -> Result<AppendOutcome, StoreError>;

    /// Events of `stream` with a version greater than `after_version`, oldest first, at most `limit`.
    async fn read_stream(
        &self,
        stream: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Events with a position greater than `after`, oldest first, at most `limit`.
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError>;

    /// The event with this id, if stored.
    async fn find_event(&self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError>;

    /// The position of the last committed event (0 when empty).
    async fn head(&self) -> Result<u64, StoreError>;

    /// The global position of organisation `org_id`'s last event whose business time
    /// ([`RecordedEvent::occurred_at`]) is at or before `time`; 0 when none is. Business times
    /// never go backwards within an organisation (live commands take the clock, imports are
    /// checked), so this is the organisation's state at `time`.
    async fn position_at(&self, org_id: Uuid, time: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Every event after `after`, then each new one as it commits.
    fn subscribe(&self, after: u64) -> EventStream;
}
