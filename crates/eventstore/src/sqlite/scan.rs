//! The sequential scan for rebuilds and catch-up: one read-only SQLite connection (rusqlite, on
//! the calling thread) steps through the log in position order and lends each row to a callback,
//! without the async driver's per-row messaging or the page strings of [`super::rows`]. Also
//! [`Lookups`], a stream's last version looked up on the calling thread the same way.

use std::path::Path;

use chrono::DateTime;
use rusqlite::{Connection, OpenFlags, OptionalExtension as _, Row};
use uuid::Uuid;

use crate::backend::ScannedEvent;
use crate::store::StoreError;

fn uuid(row: &Row<'_>, i: usize) -> rusqlite::Result<Uuid> {
    let bytes = row.get_ref(i)?.as_blob()?;
    Uuid::from_slice(bytes).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Blob, Box::new(e))
    })
}

fn text<'r>(row: &'r Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    Ok(row.get_ref(i)?.as_str()?)
}

fn number(row: &Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(row.get_ref(i)?.as_i64()? as u64)
}

/// The columns a scan reads, in the order [`scanned`] takes them (a [`ScannedEvent`]'s: its
/// business time is the commit time when the event has none).
const COLUMNS: &str = "position, stream_id, stream_version, event_type, schema_version, payload, \
    org_id, actor, correlation_id, ifnull(occurred_at, recorded_at)";

/// A read-only connection of its own, waiting up to 10 s for a writer's lock.
fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

/// Read-only connections for an index lookup made on the calling thread: the command handler
/// asks, before every batch, whether a stream it holds in memory has events it has not seen —
/// almost always not. Through the async pool that question cost ~0.4 ms a batch under a hot
/// pod's load (a hop to a connection's thread and back, on cores busy serving requests: issue
/// 20), a third of the batch's cycle; here it is an index seek of a few microseconds.
#[derive(Debug, Default)]
pub(super) struct Lookups {
    idle: std::sync::Mutex<Vec<Connection>>,
}

/// Idle lookup connections kept.
const IDLE_LOOKUPS: usize = 4;

impl Lookups {
    /// The stream's last version (0 for none), or `None` when the database could not answer at
    /// once (busy, or not openable): the caller then reads as it would have.
    pub(super) fn stream_version(&self, path: &Path, stream: &str) -> Option<u64> {
        let idle = self.idle.lock().ok()?.pop();
        let conn = if let Some(conn) = idle {
            conn
        } else {
            let conn = open(path).ok()?;
            // Never wait on the calling thread: a busy database is read the usual way.
            conn.busy_timeout(std::time::Duration::ZERO).ok()?;
            conn
        };
        let version = conn
            .prepare_cached(
                "SELECT stream_version FROM events WHERE stream_id = ?1 \
                 ORDER BY stream_version DESC LIMIT 1",
            )
            .and_then(|mut statement| {
                statement
                    .query_row([stream], |row| row.get::<_, i64>(0))
                    .optional()
            })
            .ok()?;
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE_LOOKUPS
        {
            idle.push(conn);
        }
        Some(version.map_or(0, |v| v as u64))
    }
}

/// The events of `stream` after version `after_version` whose position is at most `upto`, in
/// stream order, lent to `each` like [`scan`]'s (time travel replays a view's stream this way:
/// no per-row messaging, nothing allocated per row). Returns the last version seen.
pub(super) fn scan_stream(
    path: &Path,
    stream: &str,
    after_version: u64,
    upto: u64,
    mut each: impl FnMut(&ScannedEvent<'_>),
) -> Result<Option<u64>, StoreError> {
    let mut run = || -> rusqlite::Result<Option<u64>> {
        let conn = open(path)?;
        // In stream order positions only grow: the scan stops at the first event past `upto`
        // (a condition on `position` in the query would read the rest of the stream to check).
        let mut statement = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM events WHERE stream_id = ?1 AND stream_version > ?2 \
             ORDER BY stream_version"
        ))?;
        let mut rows = statement.query(rusqlite::params![
            stream,
            after_version.min(i64::MAX as u64) as i64,
        ])?;
        let mut last = None;
        while let Some(row) = rows.next()? {
            let event = scanned(row)?;
            if event.position > upto {
                break;
            }
            last = Some(event.stream_version);
            each(&event);
        }
        Ok(last)
    };
    run().map_err(StoreError::backend)
}

/// One row of the events table as a [`ScannedEvent`] (columns in [`scan`]'s order).
fn scanned<'r>(row: &'r Row<'_>) -> rusqlite::Result<ScannedEvent<'r>> {
    Ok(ScannedEvent {
        position: number(row, 0)?,
        stream: text(row, 1)?,
        stream_version: number(row, 2)?,
        event_type: text(row, 3)?,
        schema_version: number(row, 4)? as u32,
        payload: text(row, 5)?,
        org_id: uuid(row, 6)?,
        actor: text(row, 7)?,
        correlation_id: uuid(row, 8)?,
        occurred_at: DateTime::from_timestamp_micros(row.get_ref(9)?.as_i64()?).unwrap_or_default(),
    })
}

/// Every event with `after < position <= upto`, in order, in one read transaction (so one
/// consistent snapshot); returns the position of the last one, if any. Blocking: run it off the
/// async workers.
pub(super) fn scan(
    path: &Path,
    after: u64,
    upto: u64,
    mut each: impl FnMut(&ScannedEvent<'_>),
) -> Result<Option<u64>, StoreError> {
    let mut run = || -> rusqlite::Result<Option<u64>> {
        let conn = open(path)?;
        // The whole file memory-mapped (SQLite caps it at its compile-time maximum, 2 GiB): a
        // scan touches every page once, and a mapped page costs no read call or copy.
        conn.pragma_update(None, "mmap_size", 1_i64 << 40)?;
        conn.pragma_update(None, "cache_size", -65_536)?;
        let mut statement = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM events WHERE position > ?1 AND position <= ?2 ORDER BY position"
        ))?;
        let mut rows = statement.query([after as i64, upto.min(i64::MAX as u64) as i64])?;
        let mut last = None;
        while let Some(row) = rows.next()? {
            let event = scanned(row)?;
            last = Some(event.position);
            each(&event);
        }
        Ok(last)
    };
    run().map_err(StoreError::backend)
}
