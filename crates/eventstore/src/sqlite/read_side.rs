//! [`Backend`] on SQLite: scans on a read-only connection of their own ([`super::scan`]), the
//! organisation query on the reader pool, and the views in `read_models` beside the events,
//! written on one connection of their own.

use async_trait::async_trait;

use sqlx::sqlite::{Sqlite, SqliteConnection};
use sqlx::{Connection as _, QueryBuilder};

use super::{SqliteEventStore, scan};
use crate::backend::{Backend, LoadedViews, OrgEvents, ScannedEvent, StoredView};
use crate::metrics::StoreMetrics;
use crate::store::{RecordedEvent, StoreError};

impl SqliteEventStore {
    /// The read-write connection beside the writer's (persisted views, restores), opened at
    /// its first use and held while the caller uses it.
    async fn side_connection(
        &self,
    ) -> Result<tokio::sync::MutexGuard<'_, Option<SqliteConnection>>, StoreError> {
        let mut held = self.inner.side.lock().await;
        if held.is_none() {
            let conn = SqliteConnection::connect_with(&self.inner.config.options())
                .await
                .map_err(StoreError::backend)?;
            *held = Some(conn);
        }
        Ok(held)
    }
}

#[async_trait]
impl Backend for SqliteEventStore {
    fn scan(
        &self,
        after: u64,
        upto: u64,
        each: &mut dyn FnMut(&ScannedEvent<'_>),
    ) -> Result<Option<u64>, StoreError> {
        scan::scan(&self.inner.path, after, upto, each)
    }

    fn scan_stream(
        &self,
        stream: &str,
        after_version: u64,
        upto: u64,
        each: &mut dyn FnMut(&ScannedEvent<'_>),
    ) -> Result<Option<u64>, StoreError> {
        scan::scan_stream(&self.inner.path, stream, after_version, upto, each)
    }

    async fn org_events(&self, q: &OrgEvents<'_>) -> Result<Vec<RecordedEvent>, StoreError> {
        super::rows::org_events(&self.inner.readers, q).await
    }

    async fn load_views(&self, checkpoint: &str) -> Result<Option<LoadedViews>, StoreError> {
        let pool = &self.inner.readers;
        let position: Option<i64> =
            sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = ?1")
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
        let mut side = self.side_connection().await?;
        let conn = side.as_mut().expect("opened by side_connection");
        let result = save(conn, checkpoint, views, position).await;
        if let Err(e) = result {
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            return Err(StoreError::backend(e));
        }
        Ok(())
    }

    async fn restore(&self, events: &[RecordedEvent]) -> Result<u64, StoreError> {
        let mut side = self.side_connection().await?;
        let conn = side.as_mut().expect("opened by side_connection");
        let result = async {
            sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
            let head: i64 = sqlx::query_scalar("SELECT ifnull(max(position), 0) FROM events")
                .fetch_one(&mut *conn)
                .await?;
            if let Err(refused) = crate::backend::follows(head as u64, events) {
                return Ok(Err(refused));
            }
            for chunk in events.chunks(1_000) {
                let mut qb = QueryBuilder::<Sqlite>::new(
                    "INSERT INTO events (position, event_id, stream_id, stream_version, \
                     event_type, schema_version, payload, org_id, actor, correlation_id, \
                     causation_id, recorded_at, occurred_at) ",
                );
                qb.push_values(chunk, |mut b, e| {
                    let m = &e.metadata;
                    b.push_bind(e.position as i64)
                        .push_bind(e.event_id)
                        .push_bind(e.stream.as_str())
                        .push_bind(e.stream_version as i64)
                        .push_bind(e.event_type.as_str())
                        .push_bind(i64::from(e.schema_version))
                        .push_bind(e.payload.as_str())
                        .push_bind(m.org_id)
                        .push_bind(m.actor.as_str())
                        .push_bind(m.correlation_id)
                        .push_bind(m.causation_id)
                        .push_bind(e.recorded_at.timestamp_micros())
                        .push_bind(m.occurred_at.map(|t| t.timestamp_micros()));
                });
                qb.build().persistent(false).execute(&mut *conn).await?;
            }
            sqlx::query("COMMIT").execute(&mut *conn).await?;
            Ok::<_, sqlx::Error>(Ok(head as u64 + events.len() as u64))
        }
        .await;
        match result {
            Ok(Ok(head)) => Ok(head),
            Ok(Err(refused)) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                Err(refused)
            }
            Err(e) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                Err(StoreError::backend(e))
            }
        }
    }

    async fn clear_views(&self) -> Result<(), StoreError> {
        let mut side = self.side_connection().await?;
        let conn = side.as_mut().expect("opened by side_connection");
        sqlx::query("DELETE FROM read_models; DELETE FROM projection_checkpoints;")
            .execute(conn)
            .await
            .map_err(StoreError::backend)?;
        Ok(())
    }

    async fn check(&self) -> Result<u64, StoreError> {
        let answer: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&self.inner.readers)
            .await
            .map_err(StoreError::backend)?;
        if answer != "ok" {
            return Err(StoreError::backend(std::io::Error::other(format!(
                "integrity_check: {answer}"
            ))));
        }
        crate::backend::dense(
            sqlx::query_as("SELECT count(*), ifnull(max(position), 0) FROM events")
                .fetch_one(&self.inner.readers)
                .await
                .map_err(StoreError::backend)?,
        )
    }

    fn metrics(&self) -> &StoreMetrics {
        &self.inner.metrics
    }

    fn describe(&self) -> String {
        format!("SQLite {}", self.inner.path.display())
    }
}

/// The views and the checkpoint in one transaction; a stored view at a higher position, and a
/// higher checkpoint, stay.
async fn save(
    conn: &mut SqliteConnection,
    checkpoint: &str,
    views: &[StoredView],
    position: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    for chunk in views.chunks(500) {
        let mut qb = QueryBuilder::<Sqlite>::new(
            "INSERT INTO read_models (kind, id, org_id, position, body) ",
        );
        qb.push_values(chunk, |mut b, v| {
            b.push_bind(v.kind)
                .push_bind(v.id)
                .push_bind(v.org_id)
                .push_bind(v.position as i64)
                .push_bind(v.body.as_slice());
        });
        qb.push(
            " ON CONFLICT (kind, id) DO UPDATE SET org_id = excluded.org_id, \
             position = excluded.position, body = excluded.body \
             WHERE read_models.position <= excluded.position",
        );
        qb.build().persistent(false).execute(&mut *conn).await?;
    }
    sqlx::query(
        "INSERT INTO projection_checkpoints (name, position) VALUES (?1, ?2) \
         ON CONFLICT (name) DO UPDATE SET position = max(position, excluded.position)",
    )
    .bind(checkpoint)
    .bind(position as i64)
    .execute(&mut *conn)
    .await?;
    sqlx::query("COMMIT").execute(&mut *conn).await?;
    Ok(())
}
