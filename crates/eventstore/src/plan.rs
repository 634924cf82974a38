//! What every backend's writer does with a group of appends before it writes: checks the
//! shape of each append, then checks and places each in queue order against the versions the
//! ones before it leave — or answers it as an idempotent retry of one already stored. Shared by
//! the SQLite and PostgreSQL writers, so both answer every case the same way.

use std::collections::{HashMap, HashSet};

use tokio::sync::oneshot;
use uuid::Uuid;

use crate::store::{AppendOutcome, NewEvent, StoreError, StreamWrite};

/// An append waiting for the writer.
pub(crate) struct Pending {
    pub writes: Vec<StreamWrite>,
    pub reply: oneshot::Sender<Result<AppendOutcome, StoreError>>,
}

/// An append as every backend takes it: the shape checks, then the request queued for the
/// backend's writer and its answer awaited, timed into `metrics` (queue wait and commit).
pub(crate) async fn submit(
    appends: &tokio::sync::mpsc::Sender<Pending>,
    writes: Vec<StreamWrite>,
    metrics: &crate::metrics::StoreMetrics,
) -> Result<AppendOutcome, StoreError> {
    validate(&writes)?;
    let began = std::time::Instant::now();
    let (reply, answer) = oneshot::channel();
    appends
        .send(Pending { writes, reply })
        .await
        .map_err(|_| StoreError::Closed)?;
    let answered = answer.await.map_err(|_| StoreError::Closed)?;
    metrics
        .append_seconds
        .observe(began.elapsed().as_secs_f64());
    answered
}

/// Checks that need no database: shape of the request.
pub(crate) fn validate(writes: &[StreamWrite]) -> Result<(), StoreError> {
    if writes.iter().all(|w| w.events.is_empty()) {
        return Err(StoreError::InvalidRequest(
            "an append needs at least one event".into(),
        ));
    }
    let mut ids = HashSet::new();
    for w in writes {
        if w.stream.is_empty() {
            return Err(StoreError::InvalidRequest(
                "a stream name must not be empty".into(),
            ));
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

pub(crate) type Outcomes = Vec<Result<AppendOutcome, StoreError>>;

/// Streams a writer remembers the versions of before it forgets them all (the memory refills
/// from the checked path).
pub(crate) const MAX_REMEMBERED_STREAMS: usize = 200_000;

/// A group planned on a writer's fast path (see [`plan_remembered`]).
pub(crate) struct FastPlan<'a> {
    pub outcomes: Outcomes,
    pub rows: Vec<InsertRow<'a>>,
    /// The versions of the group's streams after it.
    pub versions: HashMap<String, u64>,
    /// The head after it.
    pub head: u64,
}

/// Plans `group` from what a writer remembers — the head after its last commit and the
/// versions of the streams it wrote — without reading the database: every backend's fast path.
/// A stream not remembered is taken to be new; an insert into one that is not collides on its
/// version in the database, but a condition alone on one would collide on nothing, so such a
/// group is `None` (the checked path). So is a group with a refusal: it may be an idempotent
/// retry or rest on stale memory, and only the checked path, which reads stored ids and
/// versions, may give it.
pub(crate) fn plan_remembered<'a>(
    group: &[&'a [StreamWrite]],
    remembered: &HashMap<String, u64>,
    head: u64,
) -> Option<FastPlan<'a>> {
    let mut versions = HashMap::new();
    for write in group.iter().flat_map(|writes| writes.iter()) {
        match remembered.get(&write.stream) {
            Some(v) => {
                versions.insert(write.stream.clone(), *v);
            }
            None if write.events.is_empty() => return None,
            None => {
                versions.insert(write.stream.clone(), 0);
            }
        }
    }
    let mut head = head as i64;
    let (outcomes, rows) = plan(group, &HashMap::new(), &mut versions, &mut head);
    if outcomes.iter().any(Result::is_err) {
        return None;
    }
    Some(FastPlan {
        outcomes,
        rows,
        versions,
        head: head as u64,
    })
}

/// Checks and places every append of the group in queue order.
pub(crate) fn plan<'a>(
    group: &[&'a [StreamWrite]],
    existing: &HashMap<Uuid, Placement>,
    versions: &mut HashMap<String, u64>,
    head: &mut i64,
) -> (Outcomes, Vec<InsertRow<'a>>) {
    let mut placed: HashMap<Uuid, Placement> = HashMap::new();
    let mut rows = Vec::new();
    let outcomes = group
        .iter()
        .map(|writes| plan_one(writes, existing, &mut placed, versions, head, &mut rows))
        .collect();
    (outcomes, rows)
}

/// Where an event already is: position, stream, stream version.
pub(crate) type Placement = (u64, String, u64);

pub(crate) struct InsertRow<'a> {
    pub position: u64,
    pub stream: &'a str,
    pub version: u64,
    pub event: &'a NewEvent,
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
    // A stream written twice in one append: the later write expects what the earlier left.
    let mut after: HashMap<&str, u64> = HashMap::new();
    for w in writes {
        let actual = after
            .get(w.stream.as_str())
            .copied()
            .unwrap_or_else(|| versions.get(&w.stream).copied().unwrap_or(0));
        if !w.expected.admits(actual) {
            return Err(StoreError::WrongExpectedVersion {
                stream: w.stream.clone(),
                expected: w.expected,
                actual,
            });
        }
        after.insert(&w.stream, actual + w.events.len() as u64);
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

/// Answers a group's appends with their outcomes (the group was committed).
pub(crate) fn answer(group: &mut Vec<Pending>, outcomes: Outcomes) {
    for (pending, outcome) in group.drain(..).zip(outcomes) {
        let _ = pending.reply.send(outcome);
    }
}

/// Answers every append of a group that could not be committed; the detail goes to the log,
/// not to the callers.
pub(crate) fn answer_failed(group: &mut Vec<Pending>, error: &dyn std::fmt::Display) {
    tracing::error!(%error, appends = group.len(), "event store group commit failed");
    for pending in group.drain(..) {
        let _ = pending
            .reply
            .send(Err(StoreError::backend(std::io::Error::other(
                error.to_string(),
            ))));
    }
}
