//! The podledger event store: the [`EventStore`] trait, its SQLite and PostgreSQL backends, the
//! conformance suite every backend runs, and the one load–decide–append loop
//! ([`CommandHandler`]).
//!
//! **Architecture Invariant:** the store itself ([`store`], [`sqlite`], [`postgres`]) knows nothing of the
//! domain's types: it moves opaque JSON payloads with metadata. Only [`handler`] joins the
//! domain to a store.

pub mod backend;
pub mod conformance;
pub mod handler;
pub mod metrics;
mod plan;
pub mod postgres;
mod recent;
pub mod sqlite;
pub mod store;
mod subscription;

pub use backend::{Backend, LoadedViews, OrgEvents, ScannedEvent, SharedBackend, StoredView, open};
pub use handler::{CommandHandler, Executed, HandleError, RequestMeta};
pub use metrics::StoreMetrics;
pub use postgres::{PgConfig, PgEventStore};
pub use sqlite::{SqliteConfig, SqliteEventStore};
pub use store::{
    AppendOutcome, EventMetadata, EventStore, EventStream, ExpectedVersion, NewEvent,
    RecordedEvent, StoreError, StreamWrite,
};
