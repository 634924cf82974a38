//! Time-travel snapshots (issue 22): every [`EVERY`] events of a stream, the view as of that
//! event is kept, so a view `asOf` any point replays at most `EVERY` events from the nearest
//! snapshot at or before it instead of its whole stream.
//!
//! They are kept in memory: the views' persistent collections make a snapshot a copy that
//! shares every node it has in common with the views before and after it (O(1) to take, the
//! changes since the previous one to hold). The live fold takes one whenever a stream's version
//! reaches a multiple of `EVERY`; a replay takes those it passes that are missing. After a
//! restart the views come from their checkpoint without any: the runner takes them again in
//! the background ([`crate::runner::Projections::warm_snapshots`], one replay per view whose
//! stream is long enough, one view at a time), and until it has, a look into the past replays
//! from the nearest earlier one or the stream's start and leaves its snapshots behind. They
//! are derived data: the same events give the same view, so a snapshot never changes an answer
//! (the property tests compare `asOf` with and without them, taken live, by replays and by the
//! warm-up).
//!
//! Why memory and not the views table: a snapshot persisted is the whole view, so a stream's
//! snapshots would cost disk in proportion to the square of its length (BENCHMARKS.md,
//! "Costs that do not grow with history"), and decoding one is itself slower than the replay
//! it saves at the sizes where it matters.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::views::{ViewKey, Views};

/// Events of a stream between two snapshots, unless configured
/// (`ProjectionOptions::snapshot_every`).
pub const EVERY: u64 = 1_024;

/// One view as of one event of its stream.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The stream version it is at.
    pub version: u64,
    /// The business time of that event.
    pub occurred_at: DateTime<Utc>,
    /// The view (and its owner), alone.
    pub views: Views,
}

/// The snapshots of every view, by global position.
#[derive(Debug)]
pub struct Snapshots {
    every: u64,
    by_view: Mutex<HashMap<ViewKey, BTreeMap<u64, Snapshot>>>,
}

impl Snapshots {
    /// None yet; one every `every` events of a stream.
    pub fn every(every: u64) -> Self {
        Self {
            every: every.max(1),
            by_view: Mutex::new(HashMap::new()),
        }
    }

    /// Events of a stream between two snapshots.
    pub const fn interval(&self) -> u64 {
        self.every
    }

    /// Whether the event that brought a stream to `version` is one to take a snapshot after.
    pub const fn due(&self, version: u64) -> bool {
        version.is_multiple_of(self.every) && version > 0
    }

    /// The latest snapshot of `key` at or before global position `position`.
    pub fn nearest(&self, key: ViewKey, position: u64) -> Option<Snapshot> {
        let by_view = self.by_view.lock().expect("snapshots lock");
        by_view
            .get(&key)?
            .range(..=position)
            .next_back()
            .map(|(_, s)| s.clone())
    }

    /// Keeps `key`'s view in `views` if the event at `position` that brought its stream to
    /// `version` is one to take a snapshot after (a snapshot already there is left as it is:
    /// both are the same view).
    pub fn keep_if_due(
        &self,
        key: ViewKey,
        position: u64,
        version: u64,
        occurred_at: DateTime<Utc>,
        views: &Views,
    ) {
        if !self.due(version) {
            return;
        }
        let mut alone = Views::default();
        alone.adopt(key, views);
        alone.position = position;
        let mut by_view = self.by_view.lock().expect("snapshots lock");
        by_view
            .entry(key)
            .or_default()
            .entry(position)
            .or_insert(Snapshot {
                version,
                occurred_at,
                views: alone,
            });
    }

    /// How many snapshots are kept (telemetry and tests).
    pub fn len(&self) -> usize {
        let by_view = self.by_view.lock().expect("snapshots lock");
        by_view.values().map(BTreeMap::len).sum()
    }

    /// None kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
