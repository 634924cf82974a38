//! The single writer: drains queued appends, checks them all against one snapshot inside one
//! `BEGIN IMMEDIATE` transaction, inserts the accepted ones, and commits once — one fsync for
//! the whole group. Each append still succeeds or fails on its own (its checks are evaluated
//! in queue order against the versions left by the appends before it in the group).

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use sqlx::sqlite::{Sqlite, SqliteConnection};
use sqlx::{Connection, QueryBuilder, Row};
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use crate::store::{AppendOutcome, NewEvent, StoreError, StreamWrite};

/// An append waiting for the writer.
pub(super) struct Pending {
    pub writes: Vec<StreamWrite>,
    pub reply: oneshot::Sender<Result<AppendOutcome, StoreError>>,
}

/// Checks that need no database: shape of the request.
pub(super) fn validate(writes: &[StreamWrite]) -> Result<(), StoreError> {
    if writes.iter().all(|w| w.events.is_empty()) {
        return Err(StoreError::InvalidRequest(
            "an append needs at least one event".into(),
        ));
    }
    let mut streams = HashSet::new();
    let mut ids = HashSet::new();
    for w in writes {
        if w.stream.is_empty() {
            return Err(StoreError::InvalidRequest(
                "a stream name must not be empty".into(),
            ));
        }
        if !streams.insert(w.stream.as_str()) {
            return Err(StoreError::InvalidRequest(format!(
                "stream {} appears twice",
                w.stream
            )));
        }
        for e in &w.events {
            if !ids.insert(e.event_id) {
                return Err(StoreError::InvalidRequest(format!(
                    "event id {} appears twice",
                    e.event_id
                )));
            }
        }
    }
    Ok(())
}

/// The writer task: runs until every sender is dropped.
pub(super) async fn run(
    mut conn: SqliteConnection,
    mut queue: mpsc::Receiver<Pending>,
    head: watch::Sender<u64>,
    max_group: usize,
) {
    let mut group = Vec::with_capacity(max_group);
    while queue.recv_many(&mut group, max_group).await > 0 {
        let writes: Vec<&[StreamWrite]> = group.iter().map(|p| p.writes.as_slice()).collect();
        match commit_group(&mut conn, &writes).await {
            Ok((outcomes, new_head)) => {
                head.send_if_modified(|h| {
                    let moved = *h != new_head;
                    *h = new_head;
                    moved
                });
                for (pending, outcome) in group.drain(..).zip(outcomes) {
                    let _ = pending.reply.send(outcome);
                }
            }
            Err(error) => {
                tracing::error!(%error, appends = group.len(), "event store group commit failed");
                for pending in group.drain(..) {
                    let _ = pending
                        .reply
                        .send(Err(StoreError::backend(std::io::Error::other(
                            error.to_string(),
                        ))));
                }
            }
        }
    }
    let _ = conn.close().await;
}

type Outcomes = Vec<Result<AppendOutcome, StoreError>>;

async fn commit_group(
    conn: &mut SqliteConnection,
    group: &[&[StreamWrite]],
) -> Result<(Outcomes, u64), sqlx::Error> {
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    let planned = match plan_and_insert(conn, group).await {
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
    Ok(planned)
}

/// Where an event already is: position, stream, stream version.
type Placement = (u64, String, u64);

struct InsertRow<'a> {
    position: u64,
    stream: &'a str,
    version: u64,
    event: &'a NewEvent,
}

async fn plan_and_insert(
    conn: &mut SqliteConnection,
    group: &[&[StreamWrite]],
) -> Result<(Outcomes, u64), sqlx::Error> {
    let mut head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM events")
        .fetch_one(&mut *conn)
        .await?;
    let existing = existing_ids(conn, group).await?;
    let mut versions = stream_versions(conn, group).await?;
    let mut placed: HashMap<Uuid, Placement> = HashMap::new();
    let mut rows = Vec::new();
    let mut outcomes = Vec::with_capacity(group.len());
    for writes in group {
        outcomes.push(plan_one(
            writes,
            &existing,
            &mut placed,
            &mut versions,
            &mut head,
            &mut rows,
        ));
    }
    insert(conn, &rows).await?;
    Ok((outcomes, head as u64))
}

fn plan_one<'a>(
    writes: &'a [StreamWrite],
    existing: &HashMap<Uuid, Placement>,
    placed: &mut HashMap<Uuid, Placement>,
    versions: &mut HashMap<String, u64>,
    head: &mut i64,
    rows: &mut Vec<InsertRow<'a>>,
) -> Result<AppendOutcome, StoreError> {
    let known: Vec<(&StreamWrite, Uuid, Option<Placement>)> = writes
        .iter()
        .flat_map(|w| w.events.iter().map(move |e| (w, e.event_id)))
        .map(|(w, id)| {
            (
                w,
                id,
                existing.get(&id).or_else(|| placed.get(&id)).cloned(),
            )
        })
        .collect();
    if known.iter().any(|(_, _, p)| p.is_some()) {
        return replay(writes, &known);
    }
    for w in writes {
        let actual = versions.get(&w.stream).copied().unwrap_or(0);
        if !w.expected.admits(actual) {
            return Err(StoreError::WrongExpectedVersion {
                stream: w.stream.clone(),
                expected: w.expected,
                actual,
            });
        }
    }
    let first_position = (*head + 1) as u64;
    let mut stream_versions = Vec::with_capacity(writes.len());
    for w in writes {
        let version = versions.entry(w.stream.clone()).or_insert(0);
        for event in &w.events {
            *head += 1;
            *version += 1;
            placed.insert(event.event_id, (*head as u64, w.stream.clone(), *version));
            rows.push(InsertRow {
                position: *head as u64,
                stream: &w.stream,
                version: *version,
                event,
            });
        }
        stream_versions.push((w.stream.clone(), *version));
    }
    Ok(AppendOutcome {
        first_position,
        last_position: *head as u64,
        stream_versions,
    })
}

/// A retry of an append already stored: the original positions, if every event id is stored in
/// the same stream; otherwise the ids were reused for something else.
fn replay(
    writes: &[StreamWrite],
    known: &[(&StreamWrite, Uuid, Option<Placement>)],
) -> Result<AppendOutcome, StoreError> {
    for (w, id, placement) in known {
        match placement {
            Some((_, stream, _)) if *stream == w.stream => {}
            _ => return Err(StoreError::IdempotencyConflict { event_id: *id }),
        }
    }
    let positions = known.iter().filter_map(|(_, _, p)| p.as_ref().map(|p| p.0));
    let first_position = positions.clone().min().unwrap_or(0);
    let last_position = positions.max().unwrap_or(0);
    let stream_versions = writes
        .iter()
        .map(|w| {
            let version = known
                .iter()
                .filter(|(kw, _, _)| kw.stream == w.stream)
                .filter_map(|(_, _, p)| p.as_ref().map(|p| p.2))
                .max()
                .unwrap_or(0);
            (w.stream.clone(), version)
        })
        .collect();
    Ok(AppendOutcome {
        first_position,
        last_position,
        stream_versions,
    })
}

async fn existing_ids(
    conn: &mut SqliteConnection,
    group: &[&[StreamWrite]],
) -> Result<HashMap<Uuid, Placement>, sqlx::Error> {
    let ids: Vec<String> = group
        .iter()
        .flat_map(|writes| writes.iter())
        .flat_map(|w| w.events.iter())
        .map(|e| e.event_id.simple().to_string())
        .collect();
    let rows = sqlx::query(
        "SELECT event_id, position, stream_id, stream_version FROM events \
         WHERE event_id IN (SELECT unhex(value) FROM json_each(?1))",
    )
    .bind(serde_json::to_string(&ids).unwrap_or_default())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<Uuid, _>(0)?,
                (
                    r.try_get::<i64, _>(1)? as u64,
                    r.try_get::<String, _>(2)?,
                    r.try_get::<i64, _>(3)? as u64,
                ),
            ))
        })
        .collect()
}

async fn stream_versions(
    conn: &mut SqliteConnection,
    group: &[&[StreamWrite]],
) -> Result<HashMap<String, u64>, sqlx::Error> {
    let streams: HashSet<&str> = group
        .iter()
        .flat_map(|ws| ws.iter())
        .map(|w| w.stream.as_str())
        .collect();
    let rows = sqlx::query(
        "SELECT j.value, (SELECT e.stream_version FROM events e WHERE e.stream_id = j.value \
         ORDER BY e.stream_version DESC LIMIT 1) FROM json_each(?1) j",
    )
    .bind(serde_json::to_string(&streams).unwrap_or_default())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let version: Option<i64> = r.try_get(1)?;
            Ok((r.try_get::<String, _>(0)?, version.unwrap_or(0) as u64))
        })
        .collect()
}

/// Inserts in chunks of fixed sizes (256, 64, 16, 4, 1 rows) so that the few statements stay
/// in the prepared-statement cache.
async fn insert(conn: &mut SqliteConnection, rows: &[InsertRow<'_>]) -> Result<(), sqlx::Error> {
    let recorded_at = Utc::now().timestamp_micros();
    let mut rest = rows;
    while !rest.is_empty() {
        let size = [256, 64, 16, 4, 1]
            .into_iter()
            .find(|s| *s <= rest.len())
            .unwrap_or(1);
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO events (position, event_id, stream_id, stream_version, event_type, schema_version, \
             payload, org_id, actor, correlation_id, causation_id, recorded_at) ",
        );
        qb.push_values(chunk, |mut b, r| {
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
                .push_bind(recorded_at);
        });
        qb.build().persistent(true).execute(&mut *conn).await?;
    }
    Ok(())
}
