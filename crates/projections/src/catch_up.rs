//! Catch-up on every core: a rebuild from position 0, or a start far behind the head, folds the
//! stored events with scanner threads reading the log and worker threads that each decode and
//! fold a disjoint set of views (a view folds one stream, so views never wait on each other).
//! The runner then takes the joined result and follows the live subscription from where it ends.
//!
//! The log is read in chunks of positions dealt to the scanners in turn (scanner `s` reads
//! chunks `s`, `s + S`, …, each on its own connection), and every worker takes the chunks in
//! order: each view still sees its events in position order, and no single thread has to read
//! the whole log.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use podledger_domain::Event;
use podledger_eventstore::{Backend, ScannedEvent, StoreError};
use uuid::Uuid;

use crate::envelope::{Envelope, Meta};
use crate::views::{ViewKey, Views};

/// Events handed to a worker at a time.
const BATCH: usize = 1_024;
/// Positions per chunk.
pub const CHUNK: u64 = 65_536;
/// Batches a scanner may have queued for one worker before it waits for that worker.
const QUEUED: usize = 16;

/// What a catch-up produced.
#[derive(Debug)]
pub struct CaughtUp {
    /// Every view: the ones the events changed, and the untouched ones of the base.
    pub views: Views,
    /// The views the events changed, each with its organisation.
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
    position: u64,
    stream_version: u64,
    schema_version: u32,
    org_id: Uuid,
    correlation_id: Uuid,
    occurred_at: DateTime<Utc>,
    stream: Range<usize>,
    event_type: Range<usize>,
    payload: Range<usize>,
    actor: Range<usize>,
}

/// Rows of one chunk for one worker; the last batch of a chunk says so.
#[derive(Debug)]
struct Batch {
    text: String,
    rows: Vec<Row>,
    ends_chunk: bool,
}

impl Batch {
    /// An empty batch with room for a typical one (growing it row by row costs more than the
    /// rows).
    fn new() -> Self {
        Self {
            text: String::with_capacity(BATCH * 384),
            rows: Vec::with_capacity(BATCH),
            ends_chunk: false,
        }
    }

    fn push_text(&mut self, s: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(s);
        start..self.text.len()
    }

    fn push(&mut self, key: ViewKey, e: &ScannedEvent<'_>) {
        let stream = self.push_text(e.stream);
        let event_type = self.push_text(e.event_type);
        let payload = self.push_text(e.payload);
        let actor = self.push_text(e.actor);
        self.rows.push(Row {
            key,
            position: e.position,
            stream_version: e.stream_version,
            schema_version: e.schema_version,
            org_id: e.org_id,
            correlation_id: e.correlation_id,
            occurred_at: e.occurred_at,
            stream,
            event_type,
            payload,
            actor,
        });
    }
}

/// A worker's share: the views it folds, and what it saw.
#[derive(Debug, Default)]
struct Share {
    views: Views,
    changed: Vec<(Uuid, ViewKey)>,
    skipped: u64,
    names: Names,
    /// The views met so far, and the last one (runs of one stream are common).
    seen: HashSet<ViewKey>,
    last: Option<ViewKey>,
    /// The decoded events of the last view not folded yet: a run is folded at once.
    run: Vec<Envelope>,
}

/// Stream names and actors, one shared copy of each: every event carries both, and they repeat
/// (one name per stream, a handful of actors), so an event costs a reference count, not an
/// allocation.
#[derive(Debug, Default)]
struct Names {
    known: HashSet<Arc<str>>,
    /// The last two handed out (an event's stream, then its actor): runs of one stream by one
    /// actor are common, and a comparison is cheaper than a hash.
    recent: [Option<Arc<str>>; 2],
}

impl Names {
    fn get(&mut self, name: &str, slot: usize) -> Arc<str> {
        if let Some(recent) = &self.recent[slot]
            && **recent == *name
        {
            return Arc::clone(recent);
        }
        let shared = if let Some(known) = self.known.get(name) {
            Arc::clone(known)
        } else {
            let new: Arc<str> = name.into();
            self.known.insert(Arc::clone(&new));
            new
        };
        self.recent[slot] = Some(Arc::clone(&shared));
        shared
    }
}

impl Share {
    /// Decodes the batch's events and folds each run of one view's events at once
    /// ([`Views::apply_run`]).
    fn fold(&mut self, base: &Views, batch: &Batch) {
        for row in &batch.rows {
            if self.last != Some(row.key) {
                self.fold_run();
                if self.seen.insert(row.key) {
                    // The first event of this view here: continue from the base's copy, if any.
                    self.views.adopt(row.key, base);
                    self.changed.push((row.org_id, row.key));
                }
                self.last = Some(row.key);
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
            self.run.push(Envelope {
                meta: Meta {
                    position: row.position,
                    stream: self.names.get(stream, 0),
                    stream_version: row.stream_version,
                    occurred_at: row.occurred_at,
                    actor: self.names.get(text(&row.actor), 1),
                    correlation_id: row.correlation_id,
                    org_id: row.org_id,
                },
                event,
            });
        }
        // Its last run too: the share is whole after every batch.
        self.fold_run();
    }

    /// Folds the last view's run of decoded events.
    fn fold_run(&mut self) {
        if let Some(key) = self.last {
            self.views.apply_run(key, self.run.drain(..));
        }
    }
}

/// Which worker folds which view, decided by whichever scanner meets the view first: views of
/// each kind (organisations, pods, KPIs) are dealt out in turn, so that the many similar pods
/// spread evenly.
#[derive(Debug)]
struct Deal {
    workers: usize,
    dealt: Mutex<(HashMap<ViewKey, usize>, [usize; 3])>,
}

impl Deal {
    fn worker_of(&self, key: ViewKey) -> usize {
        let mut dealt = self.dealt.lock().expect("deal lock");
        let (owners, turns) = &mut *dealt;
        *owners.entry(key).or_insert_with(|| {
            let kind = match key {
                ViewKey::Org(_) => 0,
                ViewKey::Pod(_) => 1,
                ViewKey::Kpi(_) => 2,
            };
            let worker = turns[kind] % self.workers;
            turns[kind] += 1;
            worker
        })
    }
}

/// A scanner's memory of where views go (the shared deal is asked once per view).
#[derive(Debug, Default)]
struct Routes {
    known: HashMap<ViewKey, usize>,
    /// Events of one stream often come in runs: the last stream's view and worker.
    last: Option<(String, Option<(ViewKey, usize)>)>,
}

impl Routes {
    fn route(&mut self, deal: &Deal, stream: &str) -> Option<(ViewKey, usize)> {
        if let Some((name, routed)) = &self.last
            && name == stream
        {
            return *routed;
        }
        let routed = ViewKey::of_stream(stream).map(|key| {
            let worker = *self.known.entry(key).or_insert_with(|| deal.worker_of(key));
            (key, worker)
        });
        self.last = Some((stream.to_owned(), routed));
        routed
    }
}

/// The positions of chunk `c`, as (after, upto).
fn chunk(after: u64, upto: u64, size: u64, c: u64) -> (u64, u64) {
    let from = after + c * size;
    (from, (from + size).min(upto))
}

/// Scanner `me` of `scanners`: reads its chunks and sends each worker its rows, every chunk
/// closed by a batch that says so; returns the last position it read.
fn scan(
    store: &dyn Backend,
    (after, upto, size, chunks): (u64, u64, u64, u64),
    (me, scanners): (u64, u64),
    deal: &Deal,
    queues: &[SyncSender<Batch>],
    spare: &Mutex<Vec<Batch>>,
) -> Result<Option<u64>, StoreError> {
    let fresh = || {
        spare
            .lock()
            .expect("spare lock")
            .pop()
            .unwrap_or_else(Batch::new)
    };
    let mut routes = Routes::default();
    let pending: RefCell<Vec<Batch>> = RefCell::new(queues.iter().map(|_| fresh()).collect());
    let send = |worker: usize, ends_chunk: bool| {
        let mut pending = pending.borrow_mut();
        let mut full = std::mem::replace(&mut pending[worker], fresh());
        full.ends_chunk = ends_chunk;
        // A worker only stops early by panicking, which the join reports.
        let _ = queues[worker].send(full);
    };
    let mut reached = None;
    let mut c = me;
    while c < chunks {
        let (from, to) = chunk(after, upto, size, c);
        let last = store.scan(from, to, &mut |e| {
            if let Some((key, worker)) = routes.route(deal, e.stream) {
                let full = {
                    let mut pending = pending.borrow_mut();
                    pending[worker].push(key, e);
                    pending[worker].rows.len() == BATCH
                };
                if full {
                    send(worker, false);
                }
            }
        })?;
        reached = reached.max(last);
        if let Some(last) = last {
            SCANNED.fetch_add(
                last.saturating_sub(from),
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        for worker in 0..queues.len() {
            send(worker, true);
        }
        c += scanners;
    }
    Ok(reached)
}

/// Positions the catch-ups of this process have scanned so far, chunk by chunk: a long
/// catch-up's progress, before it installs its views at the end (`/metrics` shows it as
/// `podledger_projection_catch_up_events_total`).
static SCANNED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// See [`SCANNED`].
pub fn scanned_so_far() -> u64 {
    SCANNED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Worker: folds the batches of every chunk in order, chunk `c` from scanner `c % scanners`.
fn work(
    base: &Views,
    chunks: u64,
    inputs: &[Receiver<Batch>],
    emptied: &Mutex<Vec<Batch>>,
) -> Share {
    let mut share = Share::default();
    for c in 0..chunks {
        let input = &inputs[(c % inputs.len() as u64) as usize];
        // A scanner that failed stops sending: its error is reported after the join.
        while let Ok(mut batch) = input.recv() {
            share.fold(base, &batch);
            let ends_chunk = batch.ends_chunk;
            batch.text.clear();
            batch.rows.clear();
            emptied.lock().expect("spare lock").push(batch);
            if ends_chunk {
                break;
            }
        }
    }
    share
}

/// Folds every event with `base.position < position <= upto` into a copy of `base`, on up to
/// as many threads as there are cores. Blocking: run it off the async workers.
pub fn catch_up(store: &dyn Backend, base: &Views, upto: u64) -> Result<CaughtUp, StoreError> {
    catch_up_in_chunks(store, base, upto, CHUNK)
}

/// [`catch_up`] with chunks of `size` positions (tests use small ones, so that the scanners take
/// turns many times).
pub fn catch_up_in_chunks(
    store: &dyn Backend,
    base: &Views,
    upto: u64,
    size: u64,
) -> Result<CaughtUp, StoreError> {
    let size = size.max(1);
    let cores = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 8);
    let (workers, scanners) = (cores, cores.min(2) as u64);
    let after = base.position;
    let chunks = upto.saturating_sub(after).div_ceil(size);
    let deal = Deal {
        workers,
        dealt: Mutex::new((HashMap::new(), [0; 3])),
    };
    let spare = Mutex::new(Vec::new());
    // queues[s][w]: scanner s to worker w.
    let (senders, receivers): (Vec<Vec<_>>, Vec<Vec<_>>) = (0..scanners)
        .map(|_| (0..workers).map(|_| sync_channel::<Batch>(QUEUED)).unzip())
        .unzip();
    let mut by_worker: Vec<Vec<Receiver<Batch>>> = (0..workers).map(|_| Vec::new()).collect();
    for row in receivers {
        for (w, receiver) in row.into_iter().enumerate() {
            by_worker[w].push(receiver);
        }
    }
    let (shares, reached) = std::thread::scope(|scope| {
        let (deal, spare) = (&deal, &spare);
        let folding: Vec<_> = by_worker
            .into_iter()
            .map(|inputs| scope.spawn(move || work(base, chunks, &inputs, spare)))
            .collect();
        let scanning: Vec<_> = senders
            .into_iter()
            .enumerate()
            .map(|(s, queues)| {
                scope.spawn(move || {
                    scan(
                        store,
                        (after, upto, size, chunks),
                        (s as u64, scanners),
                        deal,
                        &queues,
                        spare,
                    )
                })
            })
            .collect();
        let reached = scanning
            .into_iter()
            .map(|h| h.join().expect("a catch-up scanner panicked"))
            .collect::<Result<Vec<_>, _>>();
        let shares: Vec<Share> = folding
            .into_iter()
            .map(|h| h.join().expect("a catch-up worker panicked"))
            .collect();
        (shares, reached)
    });
    let reached = reached?
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(after)
        .max(after);
    let mut views = base.clone();
    let (mut changed, mut skipped) = (Vec::new(), 0);
    for share in shares {
        skipped += share.skipped;
        changed.extend(share.changed);
        views.absorb(share.views);
    }
    views.position = views.position.max(reached);
    Ok(CaughtUp {
        views,
        changed,
        scanned: reached - after,
        skipped,
    })
}
