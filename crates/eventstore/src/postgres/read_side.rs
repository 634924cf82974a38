//! [`Backend`] on PostgreSQL: scans stream rows from one reader connection (driven on the
//! store's runtime from the caller's thread), the organisation query on the reader pool, and
//! the views in `read_models`, where replicas' writes only move forward.

use async_trait::async_trait;
use futures_util::TryStreamExt as _;
use uuid::Uuid;

use super::{COLUMNS, PgEventStore, SCANNED, recorded, scanned};
use crate::backend::{Backend, LoadedViews, OrgEvents, ScannedEvent, StoredView};
use crate::metrics::StoreMetrics;
use crate::store::{RecordedEvent, StoreError};

fn bound(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl PgEventStore {
    /// Runs `query` (binding `binds` as BIGINT, after an optional text) and lends each row to
    /// `each`; returns `key` of the last row.
    fn lend(
        &self,
        query: &str,
        text: Option<&str>,
        binds: [i64; 2],
        key: fn(&ScannedEvent<'_>) -> u64,
        each: &mut dyn FnMut(&ScannedEvent<'_>),
    ) -> Result<Option<u64>, StoreError> {
        let run = async {
            let mut conn = self.inner.readers.acquire().await?;
            let mut q = sqlx::query(query);
            if let Some(text) = text {
                q = q.bind(text);
            }
            let mut rows = q.bind(binds[0]).bind(binds[1]).fetch(&mut *conn);
            let mut reached = None;
            while let Some(row) = rows.try_next().await? {
                let event = scanned(&row)?;
                reached = Some(key(&event));
                each(&event);
            }
            Ok::<_, sqlx::Error>(reached)
        };
        self.inner
            .runtime
            .block_on(run)
            .map_err(StoreError::backend)
    }
}

#[async_trait]
impl Backend for PgEventStore {
    fn scan(
        &self,
        after: u64,
        upto: u64,
        each: &mut dyn FnMut(&ScannedEvent<'_>),
    ) -> Result<Option<u64>, StoreError> {
        // Positions up to the head are committed and dense (the writers' lock): the range is
        // one consistent snapshot without a transaction.
        self.lend(
            &format!(
                "SELECT {SCANNED} FROM events WHERE position > $1 AND position <= $2 \
                 ORDER BY position"
            ),
            None,
            [bound(after), bound(upto)],
            |e| e.position,
            each,
        )
    }

    fn scan_stream(
        &self,
        stream: &str,
        after_version: u64,
        upto: u64,
        each: &mut dyn FnMut(&ScannedEvent<'_>),
    ) -> Result<Option<u64>, StoreError> {
        self.lend(
            &format!(
                "SELECT {SCANNED} FROM events WHERE stream_id = $1 AND stream_version > $2 \
                 AND position <= $3 ORDER BY stream_version"
            ),
            Some(stream),
            [bound(after_version), bound(upto)],
            |e| e.stream_version,
            each,
        )
    }

    async fn org_events(&self, q: &OrgEvents<'_>) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM events \
             WHERE org_id = $1 AND position > $2 \
             AND ($3::text IS NULL OR stream_id = $3) AND ($4::text IS NULL OR actor = $4) \
             AND ($5::text IS NULL OR event_type = $5) \
             AND ($6::bigint IS NULL OR recorded_at >= $6) \
             AND ($7::bigint IS NULL OR recorded_at < $7) \
             ORDER BY position LIMIT $8"
        ))
        .bind(q.org)
        .bind(bound(q.after))
        .bind(q.stream)
        .bind(q.actor)
        .bind(q.event_type)
        .bind(q.from.map(|t| t.timestamp_micros()))
        .bind(q.to.map(|t| t.timestamp_micros()))
        .bind(bound(q.limit as u64))
        .fetch_all(&self.inner.readers)
        .await
        .map_err(StoreError::backend)?;
        rows.iter()
            .map(recorded)
            .collect::<Result<_, _>>()
            .map_err(StoreError::backend)
    }

    async fn load_views(&self, checkpoint: &str) -> Result<Option<LoadedViews>, StoreError> {
        let pool = &self.inner.readers;
        let position: Option<i64> =
            sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = $1")
                .bind(checkpoint)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::backend)?;
        let Some(position) = position else {
            return Ok(None);
        };
        let views = sqlx::query_as("SELECT kind, id, org_id, body FROM read_models")
            .fetch_all(pool)
            .await
            .map_err(StoreError::backend)?;
        Ok(Some(LoadedViews {
            checkpoint: position as u64,
            views,
        }))
    }

    async fn save_views(
        &self,
        checkpoint: &str,
        views: &[StoredView],
        position: u64,
    ) -> Result<(), StoreError> {
        let save = async {
            let mut tx = self.inner.readers.begin().await?;
            for chunk in views.chunks(500) {
                sqlx::query(
                    "INSERT INTO read_models (kind, id, org_id, position, body) \
                     SELECT * FROM UNNEST($1::text[], $2::uuid[], $3::uuid[], $4::bigint[], \
                     $5::bytea[]) \
                     ON CONFLICT (kind, id) DO UPDATE SET org_id = excluded.org_id, \
                     position = excluded.position, body = excluded.body \
                     WHERE read_models.position <= excluded.position",
                )
                .bind(chunk.iter().map(|v| v.kind).collect::<Vec<&str>>())
                .bind(chunk.iter().map(|v| v.id).collect::<Vec<Uuid>>())
                .bind(chunk.iter().map(|v| v.org_id).collect::<Vec<Uuid>>())
                .bind(
                    chunk
                        .iter()
                        .map(|v| bound(v.position))
                        .collect::<Vec<i64>>(),
                )
                .bind(
                    chunk
                        .iter()
                        .map(|v| v.body.as_slice())
                        .collect::<Vec<&[u8]>>(),
                )
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "INSERT INTO projection_checkpoints (name, position) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE \
                 SET position = GREATEST(projection_checkpoints.position, excluded.position)",
            )
            .bind(checkpoint)
            .bind(bound(position))
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        };
        save.await.map_err(StoreError::backend)
    }

    async fn restore(&self, events: &[RecordedEvent]) -> Result<u64, StoreError> {
        let mut tx = self
            .inner
            .readers
            .begin()
            .await
            .map_err(StoreError::backend)?;
        // The writers' lock: no process commits between the head read here and this commit.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(super::COMMIT_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::backend)?;
        let head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM events")
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::backend)?;
        crate::backend::follows(head as u64, events)?;
        let reached = head as u64 + events.len() as u64;
        for chunk in events.chunks(5_000) {
            let ints = |f: fn(&RecordedEvent) -> i64| chunk.iter().map(f).collect::<Vec<i64>>();
            let ids = |f: fn(&RecordedEvent) -> Uuid| chunk.iter().map(f).collect::<Vec<Uuid>>();
            let texts = |f: for<'r> fn(&'r RecordedEvent) -> &'r str| {
                chunk.iter().map(f).collect::<Vec<&str>>()
            };
            sqlx::query(
                "INSERT INTO events (position, event_id, stream_id, stream_version, event_type, \
                 schema_version, payload, org_id, actor, correlation_id, causation_id, \
                 recorded_at, occurred_at) \
                 SELECT * FROM UNNEST($1::bigint[], $2::uuid[], $3::text[], $4::bigint[], \
                 $5::text[], $6::int[], $7::text[], $8::uuid[], $9::text[], $10::uuid[], \
                 $11::uuid[], $12::bigint[], $13::bigint[])",
            )
            .bind(ints(|e| bound(e.position)))
            .bind(ids(|e| e.event_id))
            .bind(texts(|e| e.stream.as_str()))
            .bind(ints(|e| bound(e.stream_version)))
            .bind(texts(|e| e.event_type.as_str()))
            .bind(
                chunk
                    .iter()
                    .map(|e| i32::try_from(e.schema_version).unwrap_or(i32::MAX))
                    .collect::<Vec<i32>>(),
            )
            .bind(texts(|e| e.payload.as_str()))
            .bind(ids(|e| e.metadata.org_id))
            .bind(texts(|e| e.metadata.actor.as_str()))
            .bind(ids(|e| e.metadata.correlation_id))
            .bind(
                chunk
                    .iter()
                    .map(|e| e.metadata.causation_id)
                    .collect::<Vec<Option<Uuid>>>(),
            )
            .bind(ints(|e| e.recorded_at.timestamp_micros()))
            .bind(
                chunk
                    .iter()
                    .map(|e| e.metadata.occurred_at.map(|t| t.timestamp_micros()))
                    .collect::<Vec<Option<i64>>>(),
            )
            .execute(&mut *tx)
            .await
            .map_err(StoreError::backend)?;
        }
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(super::CHANNEL)
            .bind(reached.to_string())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::backend)?;
        tx.commit().await.map_err(StoreError::backend)?;
        Ok(reached)
    }

    async fn clear_views(&self) -> Result<(), StoreError> {
        sqlx::raw_sql("DELETE FROM read_models; DELETE FROM projection_checkpoints;")
            .execute(&self.inner.readers)
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }

    async fn check(&self) -> Result<u64, StoreError> {
        let counted: (i64, i64) =
            sqlx::query_as("SELECT count(*), COALESCE(max(position), 0) FROM events")
                .fetch_one(&self.inner.readers)
                .await
                .map_err(StoreError::backend)?;
        crate::backend::dense(counted)
    }

    fn metrics(&self) -> &StoreMetrics {
        &self.inner.metrics
    }

    fn describe(&self) -> String {
        format!("PostgreSQL {}", self.inner.shown_as)
    }
}
