//! The SQLite backend: one file, WAL, `synchronous=FULL`; a single writer task that
//! group-commits concurrent appends; a pool of readers.
//!
//! Durability: with `synchronous=FULL` every commit fsyncs the WAL before the append returns,
//! so an acknowledged event survives a process kill and a power loss. `NORMAL` would fsync only
//! at checkpoints: still safe against a process crash, but the last commits can be lost on
//! power failure — [`SqliteConfig::synchronous_normal`] exists for benchmarks and disposable
//! data only.

mod read_side;
mod rows;
mod scan;
mod writer;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use crate::store::{
    AppendOutcome, EventStore, EventStream, RecordedEvent, StoreError, StreamWrite,
};
use crate::subscription;

/// The migrations of the SQLite schema (`migrations/sqlite`), embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// How to open a SQLite store.
#[derive(Clone, Debug)]
pub struct SqliteConfig {
    /// The database file.
    pub path: PathBuf,
    /// `synchronous=FULL` (default, durable) or `NORMAL` (see the module docs).
    pub synchronous_full: bool,
    /// Reader connections.
    pub readers: u32,
    /// Most appends committed in one transaction.
    pub max_group: usize,
}

impl SqliteConfig {
    /// The durable defaults for a database file.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            synchronous_full: true,
            readers: 4,
            max_group: 1024,
        }
    }

    /// From a `sqlite:` URL or a plain path (`sqlite://data/podledger.db`, `data/podledger.db`).
    pub fn from_url(url: &str) -> Self {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        let path = path.split('?').next().unwrap_or(path);
        Self::new(path)
    }

    /// `synchronous=NORMAL`: not durable against power loss. Benchmarks and throwaway data only.
    #[must_use]
    pub fn synchronous_normal(mut self) -> Self {
        self.synchronous_full = false;
        self
    }

    fn options(&self) -> SqliteConnectOptions {
        SqliteConnectOptions::from_str("sqlite:")
            .expect("static URL")
            .filename(&self.path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(if self.synchronous_full {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // 64 MiB of page cache per connection and memory-mapped reads: index pages of hot
            // streams stay in memory instead of costing a read syscall each.
            .pragma("cache_size", "-65536")
            .pragma("mmap_size", "268435456")
            .disable_statement_logging()
    }
}

/// Events the writer keeps in memory for live subscriptions ([`crate::recent`]).
const RECENT: usize = 8_192;

/// A SQLite event store. Cheap to clone; all clones share one writer.
#[derive(Clone, Debug)]
pub struct SqliteEventStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: SqliteConfig,
    path: PathBuf,
    readers: SqlitePool,
    appends: mpsc::Sender<crate::plan::Pending>,
    head: watch::Receiver<u64>,
    metrics: crate::metrics::StoreMetrics,
    /// The read-write connection beside the writer's: persisted views and restores.
    side: tokio::sync::Mutex<Option<SqliteConnection>>,
    /// The writer's last commits, for live subscriptions.
    recent: Arc<crate::recent::Recent>,
    /// Connections for a stream's version looked up on the calling thread.
    lookups: scan::Lookups,
}

impl SqliteEventStore {
    /// Opens (creating if missing) and migrates the database, then starts the writer.
    pub async fn open(config: SqliteConfig) -> Result<Self, StoreError> {
        let mut conn = connect_migrated(&config).await?;
        let head_now = rows::head(&mut conn).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(config.readers.max(1))
            .min_connections(1)
            .connect_with(config.options().read_only(true))
            .await
            .map_err(StoreError::backend)?;
        let (head_tx, head_rx) = watch::channel(head_now);
        let (tx, rx) = mpsc::channel(config.max_group * 4);
        let memory = writer::Memory {
            head: head_now,
            versions: std::collections::HashMap::new(),
            recorded_at: rows::last_recorded_at(&mut conn).await?,
        };
        let metrics = crate::metrics::StoreMetrics::default();
        let recent = Arc::new(crate::recent::Recent::new(RECENT));
        tokio::spawn(writer::run(
            conn,
            rx,
            head_tx,
            config.max_group,
            memory,
            metrics.clone(),
            Arc::clone(&recent),
        ));
        Ok(Self {
            inner: Arc::new(Inner {
                path: config.path.clone(),
                config,
                readers,
                appends: tx,
                head: head_rx,
                metrics,
                side: tokio::sync::Mutex::new(None),
                recent,
                lookups: scan::Lookups::default(),
            }),
        })
    }

    /// Applies the migrations to the database without keeping it open (`podledger migrate`).
    pub async fn migrate(config: &SqliteConfig) -> Result<(), StoreError> {
        let conn = connect_migrated(config).await?;
        conn.close().await.map_err(StoreError::backend)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The pool of read-only connections (SQLite-only tools and tests; the read side goes
    /// through [`crate::Backend`]).
    pub fn reader_pool(&self) -> &SqlitePool {
        &self.inner.readers
    }
}

/// A read-write connection to the database file (created with its directory if missing), with
/// every migration applied.
async fn connect_migrated(config: &SqliteConfig) -> Result<SqliteConnection, StoreError> {
    if let Some(dir) = config.path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(StoreError::backend)?;
    }
    let mut conn = SqliteConnection::connect_with(&config.options().create_if_missing(true))
        .await
        .map_err(StoreError::backend)?;
    MIGRATOR.run(&mut conn).await.map_err(StoreError::backend)?;
    Ok(conn)
}

#[async_trait]
impl EventStore for SqliteEventStore {
    async fn append(&self, writes: Vec<StreamWrite>) -> Result<AppendOutcome, StoreError> {
        crate::plan::submit(&self.inner.appends, writes, &self.inner.metrics).await
    }

    async fn read_stream(
        &self,
        stream: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        // Nothing after the version the caller holds (the command handler's usual question):
        // answered by an index seek on this thread, without a trip through the pool.
        if self
            .inner
            .lookups
            .stream_version(&self.inner.path, stream)
            .is_some_and(|version| version <= after_version)
        {
            return Ok(Vec::new());
        }
        rows::read_stream(&self.inner.readers, stream, after_version, limit).await
    }

    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        rows::read_all(&self.inner.readers, after, limit).await
    }

    async fn find_event(&self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        rows::find_event(&self.inner.readers, event_id).await
    }

    async fn position_at(&self, org_id: Uuid, time: DateTime<Utc>) -> Result<u64, StoreError> {
        let position: Option<i64> = sqlx::query_scalar(
            "SELECT position FROM events INDEXED BY events_by_org_time \
             WHERE org_id = ?1 AND ifnull(occurred_at, recorded_at) <= ?2 \
             ORDER BY ifnull(occurred_at, recorded_at) DESC, position DESC LIMIT 1",
        )
        .bind(org_id)
        .bind(time.timestamp_micros())
        .fetch_optional(&self.inner.readers)
        .await
        .map_err(StoreError::backend)?;
        Ok(position.map_or(0, |p| p as u64))
    }

    async fn head(&self) -> Result<u64, StoreError> {
        let mut conn = self
            .inner
            .readers
            .acquire()
            .await
            .map_err(StoreError::backend)?;
        rows::head(&mut conn).await
    }

    fn subscribe(&self, after: u64) -> EventStream {
        let inner = Arc::clone(&self.inner);
        subscription::catch_up_then_live(after, self.inner.head.clone(), move |after, limit| {
            let inner = Arc::clone(&inner);
            async move {
                if let Some(events) = inner.recent.after(after, limit) {
                    return Ok(events);
                }
                rows::read_all(&inner.readers, after, limit).await
            }
        })
    }
}
