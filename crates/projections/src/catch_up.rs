//! Catch-up on every core: a rebuild from position 0, or a start far behind the head, folds the
//! stored events with one thread scanning the store and workers that each decode and fold a
//! disjoint set of views (a view folds one stream, so views never wait on each other). The
//! runner then takes the result and follows the live subscription from where it ends.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::mpsc;

use chrono::{DateTime, Utc};
use podledger_domain::Event;
use podledger_eventstore::{ScannedEvent, SqliteEventStore, StoreError};
use uuid::Uuid;

use crate::envelope::{Envelope, Meta};
use crate::views::{ViewKey, Views};

/// Events handed to a worker at a time.
const BATCH: usize = 1_024;
/// Batches a worker may have queued before the scan waits for it.
const QUEUED: usize = 4;

/// What a catch-up produced.
#[derive(Debug)]
pub struct CaughtUp {
    /// Every view: the ones the events changed, and the untouched ones of the base.
    pub views: Views,
    /// The views the events changed, each with its organisation, in order of first change.
    pub changed: Vec<(Uuid, ViewKey)>,
    /// Events scanned.
    pub scanned: u64,
    /// Events that could not be decoded (logged and skipped, as the live runner does).
    pub skipped: u64,
}

/// One scanned event, its text fields in its batch's `text`.
#[derive(Debug)]
struct Row {
    key: ViewKey,
    /// The first event of this view in the catch-up: the worker adopts the base's view first.
    first: bool,
    position: u64,
    event_id: Uuid,
    stream_version: u64,
    schema_version: u32,
    org_id: Uuid,
    correlation_id: Uuid,
    recorded_at: DateTime<Utc>,
    stream: Range<usize>,
    event_type: Range<usize>,
    payload: Range<usize>,
    actor: Range<usize>,
}

#[derive(Debug)]
struct Batch {
    text: String,
    rows: Vec<Row>,
}

impl Batch {
    /// An empty batch with room for a typical one (growing it row by row costs more than the
    /// rows).
    fn new() -> Self {
        Self {
            text: String::with_capacity(BATCH * 384),
            rows: Vec::with_capacity(BATCH),
        }
    }

    fn push_text(&mut self, s: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(s);
        start..self.text.len()
    }

    fn push(&mut self, key: ViewKey, first: bool, e: &ScannedEvent<'_>) {
        let stream = self.push_text(e.stream);
        let event_type = self.push_text(e.event_type);
        let payload = self.push_text(e.payload);
        let actor = self.push_text(e.actor);
        self.rows.push(Row {
            key,
            first,
            position: e.position,
            event_id: e.event_id,
            stream_version: e.stream_version,
            schema_version: e.schema_version,
            org_id: e.org_id,
            correlation_id: e.correlation_id,
            recorded_at: e.recorded_at,
            stream,
            event_type,
            payload,
            actor,
        });
    }

    fn clear(&mut self) {
        self.text.clear();
        self.rows.clear();
    }
}

/// A worker's share: the views it folds, and how many events it could not read.
#[derive(Debug, Default)]
struct Share {
    views: Views,
    skipped: u64,
}

impl Share {
    fn fold(&mut self, base: &Views, batch: &Batch) {
        for row in &batch.rows {
            if row.first {
                self.views.adopt(row.key, base);
            }
            let text = |r: &Range<usize>| &batch.text[r.clone()];
            let stream = text(&row.stream);
            let event = match Event::decode_str(
                stream,
                text(&row.event_type),
                row.schema_version,
                text(&row.payload),
            ) {
                Ok(event) => event,
                Err(error) => {
                    self.skipped += 1;
                    tracing::error!(position = row.position, %error, "projection skipped an event it could not read");
                    continue;
                }
            };
            let envelope = Envelope {
                meta: Meta {
                    position: row.position,
                    event_id: row.event_id,
                    stream: stream.to_owned(),
                    stream_version: row.stream_version,
                    recorded_at: row.recorded_at,
                    actor: text(&row.actor).to_owned(),
                    correlation_id: row.correlation_id,
                    org_id: row.org_id,
                },
                event,
            };
            self.views.apply_to(row.key, &envelope);
        }
    }
}

/// Which worker folds which view: each new view goes to the worker with the fewest events so
/// far, so that a few large pods spread over the cores.
#[derive(Debug)]
struct Router {
    assigned: HashMap<ViewKey, usize>,
    load: Vec<u64>,
    changed: Vec<(Uuid, ViewKey)>,
    last: Option<(String, ViewKey)>,
}

impl Router {
    fn new(workers: usize) -> Self {
        Self {
            assigned: HashMap::new(),
            load: vec![0; workers],
            changed: Vec::new(),
            last: None,
        }
    }

    /// The view and worker of an event, and whether it is the view's first event here;
    /// `None` for a stream that feeds no view.
    fn route(&mut self, e: &ScannedEvent<'_>) -> Option<(ViewKey, usize, bool)> {
        // Events of one stream often come in runs: skip parsing the same name again.
        let key = match &self.last {
            Some((stream, key)) if stream == e.stream => *key,
            _ => {
                let key = ViewKey::of_stream(e.stream)?;
                self.last = Some((e.stream.to_owned(), key));
                key
            }
        };
        let mut first = false;
        let worker = *self.assigned.entry(key).or_insert_with(|| {
            first = true;
            self.changed.push((e.org_id, key));
            (0..self.load.len())
                .min_by_key(|w| self.load[*w])
                .unwrap_or(0)
        });
        self.load[worker] += 1;
        Some((key, worker, first))
    }
}

/// Folds every event with `base.position < position <= upto` into a copy of `base`, on up to
/// as many threads as there are cores. Blocking: run it off the async workers.
pub fn catch_up(store: &SqliteEventStore, base: &Views, upto: u64) -> Result<CaughtUp, StoreError> {
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 8);
    let mut router = Router::new(workers);
    let (shares, scanned) = if workers == 1 {
        let mut share = Share::default();
        let mut batch = Batch::new();
        let scanned = store.scan(base.position, upto, |e| {
            if let Some((key, _, first)) = router.route(e) {
                batch.push(key, first, e);
                if batch.rows.len() == BATCH {
                    share.fold(base, &batch);
                    batch.clear();
                }
            }
        })?;
        share.fold(base, &batch);
        (vec![share], scanned)
    } else {
        std::thread::scope(|scope| -> Result<_, StoreError> {
            let (recycle_tx, recycle) = mpsc::channel::<Batch>();
            let mut queues = Vec::with_capacity(workers);
            let mut handles = Vec::with_capacity(workers);
            for _ in 0..workers {
                let (tx, rx) = mpsc::sync_channel::<Batch>(QUEUED);
                let recycle_tx = recycle_tx.clone();
                queues.push(tx);
                handles.push(scope.spawn(move || {
                    let mut share = Share::default();
                    for mut batch in rx {
                        share.fold(base, &batch);
                        batch.clear();
                        // The scan may have finished; a batch nobody reuses is just dropped.
                        let _ = recycle_tx.send(batch);
                    }
                    share
                }));
            }
            let mut pending: Vec<Batch> = (0..workers).map(|_| Batch::new()).collect();
            let send = |worker: usize, pending: &mut Vec<Batch>| {
                let fresh = recycle.try_recv().unwrap_or_else(|_| Batch::new());
                let full = std::mem::replace(&mut pending[worker], fresh);
                // A worker only stops by panicking, which the join below reports.
                let _ = queues[worker].send(full);
            };
            let scanned = store.scan(base.position, upto, |e| {
                if let Some((key, worker, first)) = router.route(e) {
                    pending[worker].push(key, first, e);
                    if pending[worker].rows.len() == BATCH {
                        send(worker, &mut pending);
                    }
                }
            });
            for worker in 0..workers {
                if !pending[worker].rows.is_empty() {
                    send(worker, &mut pending);
                }
            }
            drop(queues);
            let shares = handles
                .into_iter()
                .map(|h| h.join().expect("a catch-up worker panicked"))
                .collect::<Vec<_>>();
            Ok((shares, scanned?))
        })?
    };
    let mut views = base.clone();
    let mut skipped = 0;
    for share in shares {
        skipped += share.skipped;
        views.absorb(share.views);
    }
    let reached = scanned.unwrap_or(base.position);
    views.position = views.position.max(reached);
    Ok(CaughtUp {
        views,
        changed: router.changed,
        scanned: reached - base.position,
        skipped,
    })
}
