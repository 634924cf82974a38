//! The events this process's writer committed last, kept in memory for its live subscriptions:
//! a subscriber at the head (the projection runner, following every commit) takes the next
//! events from here instead of reading back from the database what the writer has just written.
//! The ring holds dense positions only — a commit that does not follow its last event (rows
//! written by anything but the writer) empties it first — and a reader whose next position is
//! not in it reads the database, as before.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::plan::Outcomes;
use crate::store::{EventMetadata, RecordedEvent, StreamWrite};

/// The last committed events, at most `capacity`, in position order without gaps.
#[derive(Debug)]
pub(crate) struct Recent {
    ring: Mutex<VecDeque<RecordedEvent>>,
    capacity: usize,
}

impl Recent {
    pub fn new(capacity: usize) -> Self {
        Self {
            ring: Mutex::new(VecDeque::with_capacity(capacity)),
            capacity,
        }
    }

    /// Keeps the events a group committed: each accepted append's events at the positions and
    /// versions its outcome gives, committed at `recorded_at` (microseconds). New events take
    /// the positions after `head_before` in group order; an outcome that does not start at the
    /// next one answers an idempotent retry (of a stored append or of one earlier in the group)
    /// and wrote nothing.
    pub fn committed(
        &self,
        group: &[&[StreamWrite]],
        outcomes: &Outcomes,
        head_before: u64,
        recorded_at: i64,
    ) {
        let at = chrono::DateTime::from_timestamp_micros(recorded_at).unwrap_or_default();
        let mut events = Vec::new();
        let mut position = head_before + 1;
        for (writes, outcome) in group.iter().zip(outcomes) {
            let Ok(outcome) = outcome else { continue };
            if outcome.first_position != position || outcome.last_position < position {
                continue;
            }
            for (write, (_, after)) in writes.iter().zip(&outcome.stream_versions) {
                let first_version = after + 1 - write.events.len() as u64;
                for (i, e) in write.events.iter().enumerate() {
                    events.push(RecordedEvent {
                        position,
                        event_id: e.event_id,
                        stream: write.stream.clone(),
                        stream_version: first_version + i as u64,
                        event_type: e.event_type.clone(),
                        schema_version: e.schema_version,
                        payload: e.payload.clone(),
                        metadata: EventMetadata {
                            org_id: e.metadata.org_id,
                            actor: e.metadata.actor.clone(),
                            correlation_id: e.metadata.correlation_id,
                            causation_id: e.metadata.causation_id,
                            // Stored in microseconds: the same here as read back.
                            occurred_at: e.metadata.occurred_at.and_then(|t| {
                                chrono::DateTime::from_timestamp_micros(t.timestamp_micros())
                            }),
                        },
                        recorded_at: at,
                    });
                    position += 1;
                }
            }
        }
        let Some(first) = events.first().map(|e| e.position) else {
            return;
        };
        let mut ring = self.ring.lock().expect("recent events lock");
        if ring.back().is_some_and(|last| last.position + 1 != first) {
            ring.clear();
        }
        ring.extend(events);
        let excess = ring.len().saturating_sub(self.capacity);
        ring.drain(..excess);
    }

    /// At most `limit` events after position `after`, if the ring holds the next one.
    pub fn after(&self, after: u64, limit: usize) -> Option<Vec<RecordedEvent>> {
        let ring = self.ring.lock().expect("recent events lock");
        let first = ring.front()?.position;
        if first > after + 1 || ring.back()?.position <= after {
            return None;
        }
        let skip = usize::try_from(after + 1 - first).ok()?;
        Some(ring.iter().skip(skip).take(limit).cloned().collect())
    }
}
