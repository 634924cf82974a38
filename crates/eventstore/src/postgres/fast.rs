//! The writer's fast path: a group planned from what the writer remembers (the head and the
//! versions of the streams it wrote) and written by one statement in one round trip —
//! `podledger_append` (`migrations/postgres`), which takes the writers' commit lock, checks the
//! head, inserts and notifies — instead of the checked path's four (lock, snapshot, insert,
//! commit). Measured in the `pg_append` bench.
//!
//! The memory is exact whenever the head is the one it expects: every write moves the head, so
//! if no other process appended since, the versions it remembers are the stored ones. Another
//! process's append moves the head and the function writes nothing; a stale version or a
//! retried event id collides on a unique key and the statement rolls back. Then the group takes
//! the checked path, and the memory starts again from what that path read.

use std::collections::HashMap;
use std::time::Duration;

use sqlx::postgres::PgConnection;
use uuid::Uuid;

use super::bind_rows;
use crate::plan::{MAX_REMEMBERED_STREAMS, Outcomes, plan_remembered};
use crate::store::StreamWrite;

/// What the writer believes about the log (see the module docs for when it is exact).
#[derive(Debug, Default)]
pub(super) struct Memory {
    /// The head after the writer's last commit.
    pub head: u64,
    /// Versions of streams, exact as of `head`.
    pub versions: HashMap<String, u64>,
}

impl Memory {
    /// After a checked commit at `head`: only what that path read under the lock is known.
    pub fn reset(&mut self, head: u64, versions: HashMap<String, u64>) {
        self.head = head;
        self.versions = versions;
    }
}

/// Rows the fast path writes at most (larger groups take the checked path, which inserts in
/// chunks).
const MAX_ROWS: usize = 5_000;

/// Writes `group` on the fast path: `Ok(Some((outcomes, head, inserted)))` when committed,
/// `Ok(None)` when it must take the checked path (nothing was written).
pub(super) async fn commit(
    conn: &mut PgConnection,
    memory: &mut Memory,
    group: &[&[StreamWrite]],
    recorded_at: i64,
    delay: Option<Duration>,
) -> Result<Option<(Outcomes, u64, u64)>, sqlx::Error> {
    let Some(planned) = plan_remembered(group, &memory.versions, memory.head) else {
        return Ok(None);
    };
    if planned.rows.is_empty() || planned.rows.len() > MAX_ROWS {
        return Ok(None);
    }
    let hold = delay.map_or(0.0, |max| {
        max.as_secs_f64() * f64::from(Uuid::now_v7().as_bytes()[15]) / 255.0
    });
    let query = sqlx::query(
        "SELECT podledger_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    );
    let answered = bind_rows(query, &planned.rows, recorded_at)
        .bind(memory.head as i64)
        .bind(hold)
        .fetch_one(conn)
        .await
        .and_then(|row| sqlx::Row::try_get::<i64, _>(&row, 0));
    match answered {
        Ok(reached) if reached as u64 == planned.head => {
            memory.head = reached as u64;
            if memory.versions.len() > MAX_REMEMBERED_STREAMS {
                memory.versions.clear();
            }
            memory.versions.extend(planned.versions);
            Ok(Some((
                planned.outcomes,
                reached as u64,
                planned.rows.len() as u64,
            )))
        }
        Ok(_) => Ok(None),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e),
    }
}
