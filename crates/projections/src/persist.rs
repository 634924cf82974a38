//! Persistence of the views in the store's SQLite file: the views handed over and the checkpoint
//! are written in one transaction, so every document holds all its stream's events up to the
//! checkpoint (a view written later than the checkpoint holds some after it too, and a restart
//! passes over those: `Views::apply_to`). A view is
//! stored in postcard, LZ4-compressed: a large pod's view is megabytes, and writing (and
//! syncing) it was most of a rebuild's time when it was JSON text.
//!
//! Persisted views are a cache of the log. The checkpoint's name carries the format, so a build
//! that stores views differently ignores the old ones and folds the log again; so does a build
//! that finds a view it cannot read.

use podledger_eventstore::StoreError;
use sqlx::sqlite::{Sqlite, SqliteConnection, SqlitePool};
use sqlx::{QueryBuilder, Row};
use uuid::Uuid;

use crate::views::{ViewKey, Views};

/// The checkpoint's name in `projection_checkpoints`: change it when the stored form of a view
/// changes (the field list of any view, or the encoding).
// 3: event metadata carries business time (`Meta::occurred_at`), which the views' times follow.
// 4: a sprint keeps its burndown samples (`SprintHistory::burndown`).
// 5: a pod view holds the domain's `PodState` and only history beside it.
// 6: retros, approvals, shared services and their requests (SPEC §9).
// 7: a pod view keeps its tally (closed sprints, blockers: `crate::tally`) and its indexes.
pub const CHECKPOINT: &str = "views/postcard+lz4/8";

/// Reads the persisted views and their checkpoint; no views at all (start from position 0) when
/// they were stored in another format or one cannot be read.
pub async fn load(pool: &SqlitePool) -> Result<Views, StoreError> {
    match load_as_stored(pool).await? {
        Ok(views) => Ok(views),
        Err(why) => {
            tracing::warn!(%why, "persisted views are not usable; folding the log from position 0");
            Ok(Views::default())
        }
    }
}

async fn load_as_stored(pool: &SqlitePool) -> Result<Result<Views, String>, StoreError> {
    let mut views = Views::default();
    let checkpoint: Option<i64> =
        sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = ?1")
            .bind(CHECKPOINT)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::backend)?;
    let Some(checkpoint) = checkpoint else {
        return Ok(Ok(views));
    };
    views.position = checkpoint as u64;
    let rows = sqlx::query("SELECT kind, id, org_id, body FROM read_models")
        .fetch_all(pool)
        .await
        .map_err(StoreError::backend)?;
    for row in rows {
        let kind: String = row.try_get(0).map_err(StoreError::backend)?;
        let id: Uuid = row.try_get(1).map_err(StoreError::backend)?;
        let org: Uuid = row.try_get(2).map_err(StoreError::backend)?;
        let body: Vec<u8> = row.try_get(3).map_err(StoreError::backend)?;
        let key = match kind.as_str() {
            "org" => ViewKey::Org(id),
            "pod" => ViewKey::Pod(id.into()),
            _ => ViewKey::Kpi(id.into()),
        };
        let restored = lz4_flex::decompress_size_prepended(&body)
            .map_err(|e| e.to_string())
            .and_then(|body| views.restore(key, org, &body).map_err(|e| e.to_string()));
        if let Err(why) = restored {
            return Ok(Err(format!("{} {id}: {why}", key.kind())));
        }
    }
    Ok(Ok(views))
}

/// A view ready to be written.
#[derive(Debug)]
pub struct Document {
    key: ViewKey,
    org: Uuid,
    position: u64,
    /// The view in postcard, LZ4-compressed.
    body: Vec<u8>,
}

/// Serialises the views named by `keys`, on up to as many threads as there are cores (a
/// blocking call: run it off the async workers).
pub fn documents(views: &Views, keys: &[ViewKey]) -> Vec<Document> {
    let serialise = |keys: &[ViewKey]| -> Vec<Document> {
        let mut encoded = Vec::new();
        keys.iter()
            .filter_map(|key| {
                let position = views.write_body(*key, &mut encoded)?;
                Some(Document {
                    key: *key,
                    org: views.org_of(*key).unwrap_or_default(),
                    position,
                    body: lz4_flex::compress_prepend_size(&encoded),
                })
            })
            .collect()
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    if threads < 2 || keys.len() < 2 {
        return serialise(keys);
    }
    // Interleaved, so the large views (pods) spread over the threads.
    let n = threads.min(keys.len());
    let mut shares = vec![Vec::new(); n];
    for (i, key) in keys.iter().enumerate() {
        shares[i % n].push(*key);
    }
    std::thread::scope(|scope| {
        let parts: Vec<_> = shares
            .iter()
            .map(|share| scope.spawn(move || serialise(share)))
            .collect();
        parts
            .into_iter()
            .flat_map(|part| part.join().expect("serialising a view panicked"))
            .collect()
    })
}

/// Writes documents and the checkpoint in one transaction.
pub async fn save(
    conn: &mut SqliteConnection,
    documents: &[Document],
    checkpoint: u64,
) -> Result<(), StoreError> {
    let result = async {
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        for chunk in documents.chunks(500) {
            let mut qb = QueryBuilder::<Sqlite>::new(
                "INSERT INTO read_models (kind, id, org_id, position, body) ",
            );
            qb.push_values(chunk, |mut b, d| {
                b.push_bind(d.key.kind())
                    .push_bind(d.key.id())
                    .push_bind(d.org)
                    .push_bind(d.position as i64)
                    .push_bind(d.body.as_slice());
            });
            qb.push(
                " ON CONFLICT (kind, id) DO UPDATE SET org_id = excluded.org_id, \
                 position = excluded.position, body = excluded.body",
            );
            qb.build().persistent(false).execute(&mut *conn).await?;
        }
        sqlx::query(
            "INSERT INTO projection_checkpoints (name, position) VALUES (?1, ?2) \
             ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        )
        .bind(CHECKPOINT)
        .bind(checkpoint as i64)
        .execute(&mut *conn)
        .await?;
        sqlx::query("COMMIT").execute(&mut *conn).await?;
        Ok::<_, sqlx::Error>(())
    }
    .await;
    if let Err(e) = result {
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        return Err(StoreError::backend(e));
    }
    Ok(())
}

/// Forgets every persisted view (before a rebuild from position 0).
pub async fn clear(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM read_models; DELETE FROM projection_checkpoints;")
        .execute(&mut *conn)
        .await
        .map_err(StoreError::backend)?;
    Ok(())
}
