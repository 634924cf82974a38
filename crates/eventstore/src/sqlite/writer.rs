//! The single writer: drains queued appends and commits them as one group — one transaction,
//! one fsync. Each append still succeeds or fails on its own: its checks are evaluated in queue
//! order against the versions left by the appends before it in the group.
//!
//! Two paths:
//! - **fast**: expected versions are checked against the head position and stream versions this
//!   writer keeps in memory (a stream it does not remember is taken to be new), and the group is
//!   written in one round trip (`BEGIN IMMEDIATE; INSERT …; COMMIT`). The database verifies the
//!   memory: positions are dense, so if anyone else appended since, the first predicted position
//!   is taken and the primary key refuses the insert; a stream that was not new collides on
//!   `(stream_id, stream_version)`; a retried event id collides on `event_id`. Any refusal
//!   rolls the whole statement back, untouched.
//! - **checked**: after such a refusal, when the memory would refuse an append (it may be an
//!   idempotent retry, or rest on stale memory), or for groups too big for one statement, the
//!   group is re-planned against a snapshot read inside the write transaction (head, stored
//!   event ids, stream versions); this path answers idempotent retries with their original
//!   positions.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use sqlx::sqlite::{Sqlite, SqliteConnection};
use sqlx::{Connection, QueryBuilder, Row};
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use crate::plan::{
    InsertRow, MAX_REMEMBERED_STREAMS, Outcomes, Pending, Placement, answer, answer_failed, plan,
    plan_remembered,
};
use crate::store::StreamWrite;

/// What the writer believes about the database: valid while no other process has appended
/// (checked by the database on every fast-path insert, see the module docs).
pub(super) struct Memory {
    /// Position of the last committed event.
    pub head: u64,
    /// Versions of recently written streams.
    pub versions: HashMap<String, u64>,
    /// Commit time of the last group, in microseconds: commit times never go backwards, even if
    /// the clock does, so that a time maps to a position (time travel).
    pub recorded_at: i64,
}

impl Memory {
    /// The commit time for the next group.
    fn next_recorded_at(&mut self) -> i64 {
        self.recorded_at = Utc::now().timestamp_micros().max(self.recorded_at);
        self.recorded_at
    }
}

/// The writer task: runs until every sender is dropped.
pub(super) async fn run(
    mut conn: SqliteConnection,
    mut queue: mpsc::Receiver<Pending>,
    head: watch::Sender<u64>,
    max_group: usize,
    mut memory: Memory,
    metrics: crate::metrics::StoreMetrics,
    recent: std::sync::Arc<crate::recent::Recent>,
) {
    let mut group = Vec::with_capacity(max_group);
    while queue.recv_many(&mut group, max_group).await > 0 {
        let began = std::time::Instant::now();
        let head_before = memory.head;
        let writes: Vec<&[StreamWrite]> = group.iter().map(|p| p.writes.as_slice()).collect();
        let committed = match commit_fast(&mut conn, &mut memory, &writes).await {
            Ok(Some(outcomes)) => Ok(outcomes),
            Ok(None) => {
                metrics.checked_commits.inc();
                commit_checked(&mut conn, &mut memory, &writes).await
            }
            Err(e) => Err(e),
        };
        metrics
            .commit_seconds
            .observe(began.elapsed().as_secs_f64());
        metrics.group_appends.observe(group.len() as f64);
        match committed {
            Ok(outcomes) => {
                metrics
                    .events_appended
                    .inc_by(memory.head.saturating_sub(head_before));
                // Before the head moves: a subscriber woken by it finds the events here.
                recent.committed(&writes, &outcomes, head_before, memory.recorded_at);
                head.send_if_modified(|h| {
                    let moved = *h != memory.head;
                    *h = memory.head;
                    moved
                });
                answer(&mut group, outcomes);
            }
            Err(error) => {
                memory.versions.clear();
                metrics.commit_failures.inc();
                answer_failed(&mut group, &error);
            }
        }
        if memory.versions.len() > MAX_REMEMBERED_STREAMS {
            memory.versions.clear();
        }
    }
    let _ = conn.close().await;
}

/// The fast path. `Ok(None)`: the memory could not be trusted; nothing was written.
async fn commit_fast(
    conn: &mut SqliteConnection,
    memory: &mut Memory,
    group: &[&[StreamWrite]],
) -> Result<Option<Outcomes>, sqlx::Error> {
    let Some(planned) = plan_remembered(group, &memory.versions, memory.head) else {
        return Ok(None);
    };
    if planned.rows.len() > MAX_ROWS_PER_INSERT {
        return Ok(None);
    }
    let mut insert = values_insert(
        &planned.rows,
        "BEGIN IMMEDIATE; ",
        memory.next_recorded_at(),
    );
    insert.push("; COMMIT");
    let inserted = insert.build().execute(&mut *conn).await;
    match inserted {
        Ok(_) => {
            memory.head = planned.head;
            memory.versions.extend(planned.versions);
            Ok(Some(planned.outcomes))
        }
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            sqlx::query("ROLLBACK").execute(&mut *conn).await?;
            Ok(None)
        }
        Err(e) => {
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            Err(e)
        }
    }
}

/// The checked path: everything re-read inside the write transaction.
async fn commit_checked(
    conn: &mut SqliteConnection,
    memory: &mut Memory,
    group: &[&[StreamWrite]],
) -> Result<Outcomes, sqlx::Error> {
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    let planned = async {
        let Snapshot {
            mut head,
            existing,
            mut versions,
        } = snapshot(conn, group).await?;
        let (outcomes, rows) = plan(group, &existing, &mut versions, &mut head);
        if !rows.is_empty() {
            let recorded_at = memory.next_recorded_at();
            for chunk in rows.chunks(MAX_ROWS_PER_INSERT) {
                values_insert(chunk, "", recorded_at)
                    .build()
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Ok::<_, sqlx::Error>((outcomes, head, versions))
    }
    .await;
    let (outcomes, head, versions) = match planned {
        Ok(planned) => planned,
        Err(e) => {
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            return Err(e);
        }
    };
    if let Err(e) = sqlx::query("COMMIT").execute(&mut *conn).await {
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        return Err(e);
    }
    memory.head = head as u64;
    memory.versions.extend(versions);
    Ok(outcomes)
}

/// What the group's checks need, read in one round trip inside the write transaction: the
/// head position, the group's event ids already stored, and the version of each stream.
struct Snapshot {
    head: i64,
    existing: HashMap<Uuid, Placement>,
    versions: HashMap<String, u64>,
}

async fn snapshot(
    conn: &mut SqliteConnection,
    group: &[&[StreamWrite]],
) -> Result<Snapshot, sqlx::Error> {
    let ids: Vec<String> = group
        .iter()
        .flat_map(|writes| writes.iter())
        .flat_map(|w| w.events.iter())
        .map(|e| e.event_id.simple().to_string())
        .collect();
    let streams: HashSet<&str> = group
        .iter()
        .flat_map(|ws| ws.iter())
        .map(|w| w.stream.as_str())
        .collect();
    let rows = sqlx::query(
        "SELECT 0, NULL, COALESCE(MAX(position), 0), NULL, NULL FROM events \
         UNION ALL \
         SELECT 1, event_id, position, stream_id, stream_version FROM events \
         WHERE event_id IN (SELECT unhex(value) FROM json_each(?1)) \
         UNION ALL \
         SELECT 2, NULL, NULL, j.value, (SELECT e.stream_version FROM events e \
         WHERE e.stream_id = j.value ORDER BY e.stream_version DESC LIMIT 1) FROM json_each(?2) j",
    )
    .bind(serde_json::to_string(&ids).unwrap_or_default())
    .bind(serde_json::to_string(&streams).unwrap_or_default())
    .fetch_all(&mut *conn)
    .await?;
    let mut snapshot = Snapshot {
        head: 0,
        existing: HashMap::new(),
        versions: HashMap::new(),
    };
    for r in &rows {
        match r.try_get::<i64, _>(0)? {
            0 => snapshot.head = r.try_get(2)?,
            1 => {
                snapshot.existing.insert(
                    r.try_get(1)?,
                    (
                        r.try_get::<i64, _>(2)? as u64,
                        r.try_get(3)?,
                        r.try_get::<i64, _>(4)? as u64,
                    ),
                );
            }
            _ => {
                let version: Option<i64> = r.try_get(4)?;
                snapshot
                    .versions
                    .insert(r.try_get(3)?, version.unwrap_or(0) as u64);
            }
        }
    }
    Ok(snapshot)
}

/// Rows per multi-row INSERT: 13 values a row stays under SQLite's 32,766 bound values.
const MAX_ROWS_PER_INSERT: usize = 2_000;

/// One multi-row INSERT of at most [`MAX_ROWS_PER_INSERT`] rows, after `prefix`.
fn values_insert<'a>(
    rows: &'a [InsertRow<'a>],
    prefix: &str,
    recorded_at: i64,
) -> QueryBuilder<'a, Sqlite> {
    let mut qb = QueryBuilder::<Sqlite>::new(prefix);
    qb.push(
        "INSERT INTO events (position, event_id, stream_id, stream_version, event_type, schema_version, \
         payload, org_id, actor, correlation_id, causation_id, recorded_at, occurred_at) ",
    );
    qb.push_values(rows, |mut b, r| {
        let m = &r.event.metadata;
        b.push_bind(r.position as i64)
            .push_bind(r.event.event_id)
            .push_bind(r.stream)
            .push_bind(r.version as i64)
            .push_bind(r.event.event_type.as_str())
            .push_bind(i64::from(r.event.schema_version))
            .push_bind(r.event.payload.as_str())
            .push_bind(m.org_id)
            .push_bind(m.actor.as_str())
            .push_bind(m.correlation_id)
            .push_bind(m.causation_id)
            .push_bind(recorded_at)
            .push_bind(m.occurred_at.map(|t| t.timestamp_micros()));
    });
    qb
}
