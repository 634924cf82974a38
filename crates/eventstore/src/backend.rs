//! What the read side needs from a backend beyond appends and pages of events: a sequential
//! scan for catch-up and time travel, an organisation's events by filter (the audit log and the
//! `events` feed), and a place for the persisted views and their checkpoint. Everything above
//! this crate reaches a backend through [`Backend`] (a `SharedBackend`), so the projections,
//! the API and the server run unchanged on SQLite or PostgreSQL; [`open`] picks the backend
//! from the database URL.
//!
//! **Architecture Invariant:** `projections` and `api` never name a backend or a database
//! driver: they see `dyn Backend` only, and `server` opens one with [`open`] (checked by
//! `tests/backend_neutral.rs`).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::metrics::StoreMetrics;
use crate::store::{EventStore, RecordedEvent, StoreError};

/// One stored event as a scan lends it, with what a projection folds — not the event id,
/// the causation or the commit time, which no view keeps (the audit log reads those with
/// [`Backend::org_events`]; a rebuild reads three columns fewer of every row): borrowed from
/// the backend's row, valid during the callback (nothing is allocated per row).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScannedEvent<'a> {
    /// Global position.
    pub position: u64,
    /// Stream name.
    pub stream: &'a str,
    /// Version of the stream after this event.
    pub stream_version: u64,
    /// Stable type name.
    pub event_type: &'a str,
    /// Schema version.
    pub schema_version: u32,
    /// JSON text.
    pub payload: &'a str,
    /// The organisation.
    pub org_id: Uuid,
    /// `member:<id>` or `service:<id>`.
    pub actor: &'a str,
    /// The request.
    pub correlation_id: Uuid,
    /// Business time: when it happened in the organisation, the commit time for an event
    /// that carries none ([`RecordedEvent::occurred_at`]).
    pub occurred_at: DateTime<Utc>,
}

impl RecordedEvent {
    /// The event as a scan lends it (what a projection folds).
    pub fn as_scanned(&self) -> ScannedEvent<'_> {
        ScannedEvent {
            position: self.position,
            stream: &self.stream,
            stream_version: self.stream_version,
            event_type: &self.event_type,
            schema_version: self.schema_version,
            payload: &self.payload,
            org_id: self.metadata.org_id,
            actor: &self.metadata.actor,
            correlation_id: self.metadata.correlation_id,
            occurred_at: self.occurred_at(),
        }
    }
}

/// Which of an organisation's events [`Backend::org_events`] returns: those after `after`
/// that match every filter given, oldest first, at most `limit`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrgEvents<'a> {
    /// The organisation.
    pub org: Uuid,
    /// Only this stream.
    pub stream: Option<&'a str>,
    /// Only this actor.
    pub actor: Option<&'a str>,
    /// Only this event type.
    pub event_type: Option<&'a str>,
    /// Committed at or after (`recorded_at`).
    pub from: Option<DateTime<Utc>>,
    /// Committed before (`recorded_at`).
    pub to: Option<DateTime<Utc>>,
    /// Positions after this one.
    pub after: u64,
    /// At most this many.
    pub limit: usize,
}

/// A persisted view: an opaque, encoded document (the projections choose the encoding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredView {
    /// `org`, `pod` or `kpi`.
    pub kind: &'static str,
    /// The id of the organisation, pod or KPI.
    pub id: Uuid,
    /// Its organisation.
    pub org_id: Uuid,
    /// The last global position the view holds.
    pub position: u64,
    /// The encoded view.
    pub body: Vec<u8>,
}

/// The persisted views of one checkpoint name, as loaded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadedViews {
    /// Every view holds all its stream's events up to this position.
    pub checkpoint: u64,
    /// The views, with kinds as stored (a kind this build does not know is the caller's to
    /// refuse).
    pub views: Vec<(String, Uuid, Uuid, Vec<u8>)>,
}

/// A backend as the read side uses it: an [`EventStore`] with scans, the organisation query,
/// and the views' storage. Shared as [`SharedBackend`].
///
/// Views and their checkpoint only move forward: [`Backend::save_views`] keeps a stored view
/// whose position is higher than the one offered, and the checkpoint becomes the higher of the
/// stored and the offered. So replicas that fold the same log may persist into one database in
/// any order, and every stored view still holds all its stream's events up to the checkpoint.
#[async_trait]
pub trait Backend: EventStore {
    /// Lends every event with `after < position <= upto` to `each`, in position order, from one
    /// consistent snapshot; returns the position of the last one. Blocking (it may wait on the
    /// network or the disk): call it off the async workers, from a thread the caller owns or a
    /// `spawn_blocking` task.
    fn scan(
        &self,
        after: u64,
        upto: u64,
        each: &mut dyn FnMut(&ScannedEvent<'_>),
    ) -> Result<Option<u64>, StoreError>;

    /// The events of `stream` after version `after_version` whose position is at most `upto`,
    /// in stream order, lent to `each` like [`Backend::scan`]'s; returns the last version seen.
    /// Blocking, like [`Backend::scan`].
    fn scan_stream(
        &self,
        stream: &str,
        after_version: u64,
        upto: u64,
        each: &mut dyn FnMut(&ScannedEvent<'_>),
    ) -> Result<Option<u64>, StoreError>;

    /// An organisation's events that pass `query`, oldest first.
    async fn org_events(&self, query: &OrgEvents<'_>) -> Result<Vec<RecordedEvent>, StoreError>;

    /// The views persisted under `checkpoint` (the name carries the views' format), or `None`
    /// when there are none under that name.
    async fn load_views(&self, checkpoint: &str) -> Result<Option<LoadedViews>, StoreError>;

    /// Writes `views` and the checkpoint `position` under the name `checkpoint` in one
    /// transaction; neither a view nor the checkpoint moves back (see the trait's note).
    async fn save_views(
        &self,
        checkpoint: &str,
        views: &[StoredView],
        position: u64,
    ) -> Result<(), StoreError>;

    /// Forgets every persisted view and checkpoint (before a rebuild from position 0).
    async fn clear_views(&self) -> Result<(), StoreError>;

    /// Stores `events` exactly as they are — positions, ids, streams, versions, both times,
    /// metadata — after the head (`podledger copy`): the first must be at the head + 1 and
    /// the positions dense. All or nothing; returns the new head. For a store nothing else
    /// appends to meanwhile (on PostgreSQL the writers' lock keeps other processes out; on
    /// SQLite a store's own writer learns of the new head at its next append).
    async fn restore(&self, events: &[RecordedEvent]) -> Result<u64, StoreError>;

    /// Checks the stored log: the backend's own integrity check, and positions dense from 1 to
    /// the head. `Ok` with the head.
    async fn check(&self) -> Result<u64, StoreError>;

    /// The store's metrics.
    fn metrics(&self) -> &StoreMetrics;

    /// What it is and where, for logs and `podledger status` (no password).
    fn describe(&self) -> String;
}

/// A backend shared by the read side, the command handler and the server.
pub type SharedBackend = Arc<dyn Backend>;

impl From<crate::SqliteEventStore> for SharedBackend {
    fn from(store: crate::SqliteEventStore) -> Self {
        Arc::new(store)
    }
}

impl From<crate::PgEventStore> for SharedBackend {
    fn from(store: crate::PgEventStore) -> Self {
        Arc::new(store)
    }
}

/// Opens (creating and migrating) the backend `url` names: `postgres://` or `postgresql://` a
/// [`crate::PgEventStore`], anything else (`sqlite:` URL or a path) a
/// [`crate::SqliteEventStore`].
pub async fn open(url: &str) -> Result<SharedBackend, StoreError> {
    if crate::PgConfig::is_postgres_url(url) {
        Ok(Arc::new(
            crate::PgEventStore::open(crate::PgConfig::new(url)).await?,
        ))
    } else {
        Ok(Arc::new(
            crate::SqliteEventStore::open(crate::SqliteConfig::from_url(url)).await?,
        ))
    }
}

/// Applies the migrations of the backend `url` names and returns (`podledger migrate`).
pub async fn migrate(url: &str) -> Result<(), StoreError> {
    if crate::PgConfig::is_postgres_url(url) {
        crate::PgEventStore::migrate(&crate::PgConfig::new(url)).await
    } else {
        crate::SqliteEventStore::migrate(&crate::SqliteConfig::from_url(url)).await
    }
}

/// `url` without its password, for logs.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Refuses `events` unless they are dense positions starting right after `head`.
pub(crate) fn follows(head: u64, events: &[RecordedEvent]) -> Result<(), StoreError> {
    for (i, event) in events.iter().enumerate() {
        if event.position != head + 1 + i as u64 {
            return Err(StoreError::InvalidRequest(format!(
                "restoring position {} where {} comes next",
                event.position,
                head + 1 + i as u64
            )));
        }
    }
    Ok(())
}

/// The head, if `count` events end at position `head` (positions 1..=head, none missing).
pub(crate) fn dense((count, head): (i64, i64)) -> Result<u64, StoreError> {
    if count == head {
        Ok(head as u64)
    } else {
        Err(StoreError::backend(std::io::Error::other(format!(
            "{count} events end at position {head}: positions are not dense"
        ))))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_urls_password_is_never_shown() {
        assert_eq!(
            super::redacted("postgres://ann:s3cret@db:5432/podledger"),
            "postgres://ann:***@db:5432/podledger"
        );
        assert_eq!(
            super::redacted("postgres://ann@db/podledger"),
            "postgres://ann@db/podledger"
        );
        assert_eq!(super::redacted("sqlite:data/p.db"), "sqlite:data/p.db");
    }
}
