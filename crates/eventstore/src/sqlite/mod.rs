//! The SQLite backend: one file, WAL, `synchronous=FULL`; a single writer task that
//! group-commits concurrent appends; a pool of readers.
//!
//! Durability: with `synchronous=FULL` every commit fsyncs the WAL before the append returns,
//! so an acknowledged event survives a process kill and a power loss. `NORMAL` would fsync only
//! at checkpoints: still safe against a process crash, but the last commits can be lost on
//! power failure — [`SqliteConfig::synchronous_normal`] exists for benchmarks and disposable
//! data only.

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
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

pub use scan::ScannedEvent;

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
        tokio::spawn(writer::run(
            conn,
            rx,
            head_tx,
            config.max_group,
            memory,
            metrics.clone(),
        ));
        Ok(Self {
            inner: Arc::new(Inner {
                path: config.path.clone(),
                config,
                readers,
                appends: tx,
                head: head_rx,
                metrics,
            }),
        })
    }

    /// Applies the migrations to the database without keeping it open (`podledger migrate`).
    pub async fn migrate(config: &SqliteConfig) -> Result<(), StoreError> {
        let conn = connect_migrated(config).await?;
        conn.close().await.map_err(StoreError::backend)
    }

    /// Its metrics (append latency, group commits, events appended).
    pub fn metrics(&self) -> &crate::metrics::StoreMetrics {
        &self.inner.metrics
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// A new read-write connection to the same file, with the store's durability settings, for
    /// read models that live beside the events (never to write events: only the store's writer
    /// does that).
    pub async fn connect(&self) -> Result<SqliteConnection, StoreError> {
        SqliteConnection::connect_with(&self.inner.config.options())
            .await
            .map_err(StoreError::backend)
    }

    /// The pool of read-only connections, for read models that live in the same file.
    pub fn reader_pool(&self) -> &SqlitePool {
        &self.inner.readers
    }

    /// Lends every event with `after < position <= upto` to `each`, in position order, from one
    /// consistent snapshot; returns the position of the last one, if any. The fast path for
    /// rebuilds and catch-up (millions of rows per second): a dedicated read-only connection
    /// stepping rows on the calling thread. Blocking: run it off the async workers.
    pub fn scan(
        &self,
        after: u64,
        upto: u64,
        each: impl FnMut(&ScannedEvent<'_>),
    ) -> Result<Option<u64>, StoreError> {
        scan::scan(&self.inner.path, after, upto, each)
    }

    /// The events of `stream` after version `after_version`, up to global position `upto`, in
    /// stream order, lent to `each` one at a time (blocking: run it off the async workers).
    /// Returns the last version seen.
    pub fn scan_stream(
        &self,
        stream: &str,
        after_version: u64,
        upto: u64,
        each: impl FnMut(&ScannedEvent<'_>),
    ) -> Result<Option<u64>, StoreError> {
        scan::scan_stream(&self.inner.path, stream, after_version, upto, each)
    }

    /// Runs `PRAGMA integrity_check`; `Ok(())` when SQLite answers `ok`.
    pub async fn integrity_check(&self) -> Result<(), StoreError> {
        let answer: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&self.inner.readers)
            .await
            .map_err(StoreError::backend)?;
        if answer == "ok" {
            Ok(())
        } else {
            Err(StoreError::backend(std::io::Error::other(format!(
                "integrity_check: {answer}"
            ))))
        }
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
        crate::plan::validate(&writes)?;
        let began = std::time::Instant::now();
        let (reply, answer) = oneshot::channel();
        self.inner
            .appends
            .send(crate::plan::Pending { writes, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        let answered = answer.await.map_err(|_| StoreError::Closed)?;
        self.inner
            .metrics
            .append_seconds
            .observe(began.elapsed().as_secs_f64());
        answered
    }

    async fn read_stream(
        &self,
        stream: &str,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
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
            async move { rows::read_all(&inner.readers, after, limit).await }
        })
    }
}
