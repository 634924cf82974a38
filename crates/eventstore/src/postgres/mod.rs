//! The PostgreSQL backend (PostgreSQL 15+): the engine for organisations that outgrow one
//! machine — several stateless replicas on one database.
//!
//! - **One writer task per process** group-commits concurrent appends: one transaction, one
//!   `COMMIT` for the group, each append still checked on its own in queue order (the checks
//!   are [`crate::plan`]'s, the SQLite writer's).
//! - **No reader skips an event.** Positions are assigned inside the transaction under a
//!   transaction-scoped advisory lock, so the writers of every process commit one at a time
//!   in position order: a transaction takes the lock, reads the head, inserts after it and
//!   commits, and PostgreSQL makes a commit visible before it releases the transaction's
//!   locks. A reader that sees position `n` therefore sees every position below it — the gap
//!   that sequence-numbered logs on PostgreSQL suffer (a later position visible before an
//!   earlier one commits) cannot open. (message-db serialises its writers the same way.)
//! - **Wake-ups across processes** by `LISTEN`/`NOTIFY`: each group's transaction notifies
//!   `podledger_events` with its head; every process listens and moves its head, which wakes
//!   its subscriptions. The log is the truth: a subscription also polls, so a lost
//!   notification delays and never loses an event.
//! - Durability: PostgreSQL's own (`synchronous_commit` as the server is configured; the
//!   default flushes the WAL before `COMMIT` returns).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Executor, Row};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use crate::backend::ScannedEvent;
use crate::plan::{InsertRow, Outcomes, Pending, Placement, answer, answer_failed, plan};
use crate::store::{
    AppendOutcome, EventMetadata, EventStore, EventStream, RecordedEvent, StoreError, StreamWrite,
};
use crate::subscription;

mod fast;
mod read_side;

/// The migrations of the PostgreSQL schema (`migrations/postgres`), embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// The channel every group's commit notifies, with its head position as the payload.
const CHANNEL: &str = "podledger_events";

/// Begins a group's transaction and takes the advisory lock the writers of every process take
/// to commit one at a time (key 0x706f646c65646772, "podledgr"), in one round trip.
const BEGIN_LOCKED: &str = "BEGIN; SELECT pg_advisory_xact_lock(8101804671383136114)";

/// The key of the writers' lock in [`BEGIN_LOCKED`], for statements that bind it.
const COMMIT_LOCK: i64 = 8_101_804_671_383_136_114;

/// How to open a PostgreSQL store.
#[derive(Clone, Debug)]
pub struct PgConfig {
    /// `postgres://user:password@host:port/database`.
    pub url: String,
    /// Reader connections.
    pub readers: u32,
    /// Most appends committed in one transaction.
    pub max_group: usize,
    /// Tests only: holds every group's transaction open for a random time up to this, after its
    /// inserts and before `COMMIT` — the window in which a naive log would let a later position
    /// become visible first.
    #[doc(hidden)]
    pub delay_before_commit: Option<Duration>,
}

impl PgConfig {
    /// The defaults for a database URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            readers: 8,
            max_group: 1024,
            delay_before_commit: None,
        }
    }

    /// Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`).
    pub fn is_postgres_url(url: &str) -> bool {
        url.starts_with("postgres://") || url.starts_with("postgresql://")
    }
}

/// An event store on PostgreSQL. Cheap to clone: clones share the writer and the pool.
#[derive(Clone, Debug)]
pub struct PgEventStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    readers: PgPool,
    appends: mpsc::Sender<Pending>,
    head: watch::Receiver<u64>,
    listener: tokio::task::JoinHandle<()>,
    metrics: crate::metrics::StoreMetrics,
    /// The database URL without its password.
    shown_as: String,
    /// The runtime the store was opened on: blocking scans run their queries on it.
    runtime: tokio::runtime::Handle,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl PgEventStore {
    /// Connects, applies the migrations, and starts the writer and the listener.
    pub async fn open(config: PgConfig) -> Result<Self, StoreError> {
        let readers = PgPoolOptions::new()
            .max_connections(config.readers.max(2))
            .min_connections(1)
            .connect(&config.url)
            .await
            .map_err(StoreError::backend)?;
        MIGRATOR.run(&readers).await.map_err(StoreError::backend)?;
        let mut conn = writer_connection(&config.url)
            .await
            .map_err(StoreError::backend)?;
        let head_now = head(&mut conn).await?;
        let recorded_at: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(recorded_at), 0) FROM events")
                .fetch_one(&mut conn)
                .await
                .map_err(StoreError::backend)?;
        let (head_tx, head_rx) = watch::channel(head_now);
        let head_tx = Arc::new(head_tx);
        let mut listener = PgListener::connect_with(&readers)
            .await
            .map_err(StoreError::backend)?;
        listener
            .listen(CHANNEL)
            .await
            .map_err(StoreError::backend)?;
        let listener = tokio::spawn(listen(listener, Arc::clone(&head_tx)));
        let (tx, rx) = mpsc::channel(config.max_group * 4);
        let metrics = crate::metrics::StoreMetrics::default();
        tokio::spawn(write(
            (conn, config.url.clone()),
            rx,
            head_tx,
            (config.max_group, config.delay_before_commit),
            (recorded_at, metrics.clone(), head_now),
        ));
        Ok(Self {
            inner: Arc::new(Inner {
                readers,
                appends: tx,
                head: head_rx,
                listener,
                metrics,
                shown_as: crate::backend::redacted(&config.url),
                runtime: tokio::runtime::Handle::current(),
            }),
        })
    }

    /// Applies the migrations and returns.
    pub async fn migrate(config: &PgConfig) -> Result<(), StoreError> {
        let mut conn = PgConnection::connect(&config.url)
            .await
            .map_err(StoreError::backend)?;
        MIGRATOR.run(&mut conn).await.map_err(StoreError::backend)?;
        conn.close().await.map_err(StoreError::backend)
    }

    /// The readers' pool.
    pub fn reader_pool(&self) -> &PgPool {
        &self.inner.readers
    }
}

/// The writer's connection. Its statements are planned for their parameters every time
/// (`plan_cache_mode = force_custom_plan`): with the generic plan PostgreSQL settles on after
/// five executions, the snapshot query of a group of 32 appends took 2.1 ms instead of 0.35, and
/// 64 writers appended 10.7k events/s instead of 26.7k (`pg_append` bench).
async fn writer_connection(url: &str) -> Result<PgConnection, sqlx::Error> {
    let options = url
        .parse::<PgConnectOptions>()?
        .options([("plan_cache_mode", "force_custom_plan")]);
    PgConnection::connect_with(&options).await
}

/// Moves the head whenever any process's commit notifies (and on reconnection, when
/// notifications may have been missed).
async fn listen(mut listener: PgListener, head: Arc<watch::Sender<u64>>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => {
                if let Ok(position) = notification.payload().parse::<u64>() {
                    advance(&head, position);
                }
            }
            // The connection was lost and is being re-established: notifications sent
            // meanwhile are gone, so wake the subscriptions to read the log.
            Ok(None) => head.send_modify(|_| {}),
            Err(error) => {
                tracing::warn!(%error, "event notifications: listener failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

fn advance(head: &watch::Sender<u64>, position: u64) {
    head.send_if_modified(|h| {
        let moved = position > *h;
        *h = (*h).max(position);
        moved
    });
}

/// The writer task: runs until every sender is dropped.
async fn write(
    (mut conn, url): (PgConnection, String),
    mut queue: mpsc::Receiver<Pending>,
    head: Arc<watch::Sender<u64>>,
    (max_group, delay): (usize, Option<Duration>),
    (mut recorded_at, metrics, head_now): (i64, crate::metrics::StoreMetrics, u64),
) {
    let mut memory = fast::Memory {
        head: head_now,
        ..fast::Memory::default()
    };
    let mut group = Vec::with_capacity(max_group);
    while queue.recv_many(&mut group, max_group).await > 0 {
        let began = std::time::Instant::now();
        let writes: Vec<&[StreamWrite]> = group.iter().map(|p| p.writes.as_slice()).collect();
        recorded_at = Utc::now().timestamp_micros().max(recorded_at);
        let committed =
            match fast::commit(&mut conn, &mut memory, &writes, recorded_at, delay).await {
                Ok(Some(done)) => Ok(done),
                Ok(None) => {
                    metrics.checked_commits.inc();
                    commit(&mut conn, &writes, recorded_at, delay).await.map(
                        |(outcomes, head, inserted, versions)| {
                            memory.reset(head, versions);
                            (outcomes, head, inserted)
                        },
                    )
                }
                Err(error) => Err(error),
            };
        metrics
            .commit_seconds
            .observe(began.elapsed().as_secs_f64());
        metrics.group_appends.observe(group.len() as f64);
        match committed {
            Ok((outcomes, last, inserted)) => {
                metrics.events_appended.inc_by(inserted);
                advance(&head, last);
                answer(&mut group, outcomes);
            }
            Err(error) => {
                memory.versions.clear();
                metrics.commit_failures.inc();
                answer_failed(&mut group, &error);
                if conn.ping().await.is_err() {
                    // The connection is gone: the next group needs a new one.
                    match writer_connection(&url).await {
                        Ok(fresh) => conn = fresh,
                        Err(error) => {
                            tracing::error!(%error, "event store writer: reconnecting failed");
                        }
                    }
                }
            }
        }
    }
    let _ = conn.close().await;
}

/// One group in one transaction: the commit lock, the checks against what is stored, the
/// inserts, the notification (sent by PostgreSQL at commit). Returns what
/// [`write_group`] does.
async fn commit(
    conn: &mut PgConnection,
    group: &[&[StreamWrite]],
    recorded_at: i64,
    delay: Option<Duration>,
) -> Result<(Outcomes, u64, u64, HashMap<String, u64>), sqlx::Error> {
    // Four round trips: BEGIN with the lock, the snapshot, the inserts (the last one also
    // notifies), COMMIT.
    conn.execute(BEGIN_LOCKED).await?;
    match write_group(conn, group, recorded_at, delay).await {
        Ok(written) => {
            conn.execute("COMMIT").await?;
            Ok(written)
        }
        Err(error) => {
            let _ = conn.execute("ROLLBACK").await;
            Err(error)
        }
    }
}

/// Inside the group's transaction: the checks against what is stored, the inserts. Returns the
/// outcomes, the head after the group, how many events it inserted, and the version of each
/// stream the group wrote as it leaves them.
async fn write_group(
    conn: &mut PgConnection,
    group: &[&[StreamWrite]],
    recorded_at: i64,
    delay: Option<Duration>,
) -> Result<(Outcomes, u64, u64, HashMap<String, u64>), sqlx::Error> {
    let (mut head, existing, mut versions) = snapshot(&mut *conn, group).await?;
    let (outcomes, rows) = plan(group, &existing, &mut versions, &mut head);
    let chunks = rows.chunks(ROWS_PER_INSERT).count();
    for (i, chunk) in rows.chunks(ROWS_PER_INSERT).enumerate() {
        let notify = (i + 1 == chunks).then(|| head.to_string());
        insert(&mut *conn, chunk, recorded_at, notify).await?;
    }
    if let Some(max) = delay {
        let share = f64::from(Uuid::now_v7().as_bytes()[15]) / 255.0;
        tokio::time::sleep(max.mul_f64(share)).await;
    }
    Ok((outcomes, head as u64, rows.len() as u64, versions))
}

/// Rows per INSERT (the arrays are one bound parameter each, so this bounds memory only).
const ROWS_PER_INSERT: usize = 5_000;

/// The head, the group's event ids already stored, and the version of each stream written.
async fn snapshot(
    conn: &mut PgConnection,
    group: &[&[StreamWrite]],
) -> Result<(i64, HashMap<Uuid, Placement>, HashMap<String, u64>), sqlx::Error> {
    let ids: Vec<Uuid> = group
        .iter()
        .flat_map(|writes| writes.iter())
        .flat_map(|w| w.events.iter())
        .map(|e| e.event_id)
        .collect();
    let streams: Vec<String> = group
        .iter()
        .flat_map(|ws| ws.iter())
        .map(|w| w.stream.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let rows = sqlx::query(
        "SELECT 0, NULL::uuid, COALESCE(MAX(position), 0), NULL::text, NULL::bigint FROM events \
         UNION ALL \
         SELECT 1, event_id, position, stream_id, stream_version FROM events \
         WHERE event_id = ANY($1) \
         UNION ALL \
         SELECT 2, NULL, NULL, s, (SELECT e.stream_version FROM events e WHERE e.stream_id = s \
         ORDER BY e.stream_version DESC LIMIT 1) FROM UNNEST($2::text[]) AS s",
    )
    .bind(&ids)
    .bind(&streams)
    .fetch_all(&mut *conn)
    .await?;
    let (mut head, mut existing, mut versions) = (0, HashMap::new(), HashMap::new());
    for row in &rows {
        match row.try_get::<i32, _>(0)? {
            0 => head = row.try_get(2)?,
            1 => {
                existing.insert(
                    row.try_get::<Uuid, _>(1)?,
                    (
                        row.try_get::<i64, _>(2)? as u64,
                        row.try_get(3)?,
                        row.try_get::<i64, _>(4)? as u64,
                    ),
                );
            }
            _ => {
                let version: Option<i64> = row.try_get(4)?;
                versions.insert(row.try_get(3)?, version.unwrap_or(0) as u64);
            }
        }
    }
    Ok((head, existing, versions))
}

/// Binds the group's rows as `$1`…`$13`: a column of values per array parameter (`$12` is the
/// commit time, one for the group). Text columns are bound borrowed, not copied.
fn bind_rows<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    rows: &'q [InsertRow<'q>],
    recorded_at: i64,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    let ints = |f: fn(&InsertRow<'_>) -> i64| rows.iter().map(f).collect::<Vec<i64>>();
    let ids = |f: fn(&InsertRow<'_>) -> Uuid| rows.iter().map(f).collect::<Vec<Uuid>>();
    let texts = |f: fn(&'q InsertRow<'q>) -> &'q str| rows.iter().map(f).collect::<Vec<&'q str>>();
    query
        .bind(ints(|r| r.position as i64))
        .bind(ids(|r| r.event.event_id))
        .bind(texts(|r| r.stream))
        .bind(ints(|r| r.version as i64))
        .bind(texts(|r| r.event.event_type.as_str()))
        .bind(
            rows.iter()
                .map(|r| i32::try_from(r.event.schema_version).unwrap_or(i32::MAX))
                .collect::<Vec<i32>>(),
        )
        .bind(texts(|r| r.event.payload.as_str()))
        .bind(ids(|r| r.event.metadata.org_id))
        .bind(texts(|r| r.event.metadata.actor.as_str()))
        .bind(ids(|r| r.event.metadata.correlation_id))
        .bind(
            rows.iter()
                .map(|r| r.event.metadata.causation_id)
                .collect::<Vec<Option<Uuid>>>(),
        )
        .bind(recorded_at)
        .bind(
            rows.iter()
                .map(|r| r.event.metadata.occurred_at.map(|t| t.timestamp_micros()))
                .collect::<Vec<Option<i64>>>(),
        )
}

/// One INSERT of many rows.
async fn insert(
    conn: &mut PgConnection,
    rows: &[InsertRow<'_>],
    recorded_at: i64,
    notify: Option<String>,
) -> Result<(), sqlx::Error> {
    // With `notify`, the same statement tells every listening process the new head (delivered
    // by PostgreSQL at commit).
    let query = sqlx::query(
        "WITH inserted AS (INSERT INTO events (position, event_id, stream_id, stream_version, \
         event_type, schema_version, payload, org_id, actor, correlation_id, causation_id, \
         recorded_at, occurred_at) \
         SELECT p, i, s, v, t, sv, pl, o, a, c, ca, $12, oc FROM UNNEST($1::bigint[], \
         $2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::int[], $7::text[], $8::uuid[], \
         $9::text[], $10::uuid[], $11::uuid[], $13::bigint[]) \
         AS u(p, i, s, v, t, sv, pl, o, a, c, ca, oc) RETURNING 1) \
         SELECT CASE WHEN $14::text IS NULL THEN NULL ELSE pg_notify($15, $14) END \
         FROM (SELECT count(*) FROM inserted) AS n",
    );
    bind_rows(query, rows, recorded_at)
        .bind(notify)
        .bind(CHANNEL)
        .execute(conn)
        .await?;
    Ok(())
}

async fn head(conn: &mut PgConnection) -> Result<u64, StoreError> {
    let head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM events")
        .fetch_one(conn)
        .await
        .map_err(StoreError::backend)?;
    Ok(head as u64)
}

/// The columns of a [`ScannedEvent`], in the order [`scanned`] takes them (its business time is
/// the commit time when the event has none).
macro_rules! scanned_columns {
    () => {
        "position, stream_id, stream_version, event_type, schema_version, payload, org_id, \
         actor, correlation_id, COALESCE(occurred_at, recorded_at)"
    };
}

/// What a scan reads ([`scanned`]).
pub(crate) const SCANNED: &str = scanned_columns!();

/// Every column of an event: a scan's first, then what only a [`RecordedEvent`] holds
/// ([`recorded`]).
pub(crate) const COLUMNS: &str = concat!(
    scanned_columns!(),
    ", event_id, causation_id, recorded_at, occurred_at"
);

fn micros(t: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(t).unwrap_or_default()
}

/// One row of `SELECT {SCANNED}` (or `{COLUMNS}`) lent as a [`ScannedEvent`].
pub(crate) fn scanned(row: &PgRow) -> Result<ScannedEvent<'_>, sqlx::Error> {
    Ok(ScannedEvent {
        position: row.try_get::<i64, _>(0)? as u64,
        stream: row.try_get(1)?,
        stream_version: row.try_get::<i64, _>(2)? as u64,
        event_type: row.try_get(3)?,
        schema_version: row.try_get::<i32, _>(4)? as u32,
        payload: row.try_get(5)?,
        org_id: row.try_get(6)?,
        actor: row.try_get(7)?,
        correlation_id: row.try_get(8)?,
        occurred_at: micros(row.try_get(9)?),
    })
}

/// One row of `SELECT {COLUMNS}` as a [`RecordedEvent`]: the scanned part, then the rest.
pub(crate) fn recorded(row: &PgRow) -> Result<RecordedEvent, sqlx::Error> {
    let e = scanned(row)?;
    Ok(RecordedEvent {
        position: e.position,
        event_id: row.try_get(10)?,
        stream: e.stream.to_owned(),
        stream_version: e.stream_version,
        event_type: e.event_type.to_owned(),
        schema_version: e.schema_version,
        payload: e.payload.to_owned(),
        metadata: EventMetadata {
            org_id: e.org_id,
            actor: e.actor.to_owned(),
            correlation_id: e.correlation_id,
            causation_id: row.try_get(11)?,
            occurred_at: row.try_get::<Option<i64>, _>(13)?.map(micros),
        },
        recorded_at: micros(row.try_get(12)?),
    })
}

fn events(rows: &[PgRow]) -> Result<Vec<RecordedEvent>, StoreError> {
    rows.iter()
        .map(recorded)
        .collect::<Result<_, _>>()
        .map_err(StoreError::backend)
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

async fn read_all(pool: &PgPool, after: u64, n: usize) -> Result<Vec<RecordedEvent>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2"
    ))
    .bind(after as i64)
    .bind(limit(n))
    .fetch_all(pool)
    .await
    .map_err(StoreError::backend)?;
    events(&rows)
}

#[async_trait]
impl EventStore for PgEventStore {
    async fn append(&self, writes: Vec<StreamWrite>) -> Result<AppendOutcome, StoreError> {
        crate::plan::submit(&self.inner.appends, writes, &self.inner.metrics).await
    }

    async fn read_stream(
        &self,
        stream: &str,
        after_version: u64,
        n: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM events WHERE stream_id = $1 AND stream_version > $2 \
             ORDER BY stream_version LIMIT $3"
        ))
        .bind(stream)
        .bind(after_version as i64)
        .bind(limit(n))
        .fetch_all(&self.inner.readers)
        .await
        .map_err(StoreError::backend)?;
        events(&rows)
    }

    async fn read_all(&self, after: u64, n: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        read_all(&self.inner.readers, after, n).await
    }

    async fn find_event(&self, event_id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM events WHERE event_id = $1"))
            .bind(event_id)
            .fetch_optional(&self.inner.readers)
            .await
            .map_err(StoreError::backend)?;
        row.as_ref()
            .map(recorded)
            .transpose()
            .map_err(StoreError::backend)
    }

    async fn head(&self) -> Result<u64, StoreError> {
        let mut conn = self
            .inner
            .readers
            .acquire()
            .await
            .map_err(StoreError::backend)?;
        head(&mut conn).await
    }

    async fn position_at(&self, org_id: Uuid, time: DateTime<Utc>) -> Result<u64, StoreError> {
        let position: Option<i64> = sqlx::query_scalar(
            "SELECT position FROM events \
             WHERE org_id = $1 AND COALESCE(occurred_at, recorded_at) <= $2 \
             ORDER BY COALESCE(occurred_at, recorded_at) DESC, position DESC LIMIT 1",
        )
        .bind(org_id)
        .bind(time.timestamp_micros())
        .fetch_optional(&self.inner.readers)
        .await
        .map_err(StoreError::backend)?;
        Ok(position.map_or(0, |p| p as u64))
    }

    fn subscribe(&self, after: u64) -> EventStream {
        let inner = Arc::clone(&self.inner);
        subscription::catch_up_then_live(after, self.inner.head.clone(), move |after, n| {
            let inner = Arc::clone(&inner);
            async move { read_all(&inner.readers, after, n).await }
        })
    }
}
