//! Persistence of the views in the store's database ([`Backend::save_views`]): the views handed
//! over and the checkpoint are written in one transaction, so every document holds all its stream's events up to the
//! checkpoint (a view written later than the checkpoint holds some after it too, and a restart
//! passes over those: `Views::apply_to`). A view is
//! stored in postcard, LZ4-compressed: a large pod's view is megabytes, and writing (and
//! syncing) it was most of a rebuild's time when it was JSON text.
//!
//! Persisted views are a cache of the log. The checkpoint's name carries the format, so a build
//! that stores views differently ignores the old ones and folds the log again; so does a build
//! that finds a view it cannot read.

use podledger_eventstore::{Backend, StoreError, StoredView};

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
pub async fn load(store: &dyn Backend) -> Result<Views, StoreError> {
    match load_as_stored(store).await? {
        Ok(views) => Ok(views),
        Err(why) => {
            tracing::warn!(%why, "persisted views are not usable; folding the log from position 0");
            Ok(Views::default())
        }
    }
}

async fn load_as_stored(store: &dyn Backend) -> Result<Result<Views, String>, StoreError> {
    let mut views = Views::default();
    let Some(loaded) = store.load_views(CHECKPOINT).await? else {
        return Ok(Ok(views));
    };
    views.position = loaded.checkpoint;
    for (kind, id, org, body) in loaded.views {
        let key = match kind.as_str() {
            "org" => ViewKey::Org(id),
            "pod" => ViewKey::Pod(id.into()),
            "kpi" => ViewKey::Kpi(id.into()),
            other => return Ok(Err(format!("a view of kind {other:?}"))),
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

/// Serialises the views named by `keys`, on up to as many threads as there are cores (a
/// blocking call: run it off the async workers).
///
/// The views are taken largest first (by their stream's length) from one shared queue: a
/// rebuild persists a few large pods and many small KPIs, and dealing them out in a fixed
/// order left one thread with most of the work (a median rebuild waited 40 ms on it).
pub fn documents(views: &Views, keys: &[ViewKey]) -> Vec<StoredView> {
    let mut queue: Vec<(u64, ViewKey)> = keys
        .iter()
        .map(|key| (views.version_of(*key).unwrap_or_default(), *key))
        .collect();
    queue.sort_unstable_by_key(|(length, _)| std::cmp::Reverse(*length));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let serialise = || -> Vec<StoredView> {
        let (mut encoded, mut stored) = (Vec::new(), Vec::new());
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some((_, key)) = queue.get(i) else {
                return stored;
            };
            if let Some(position) = views.write_body(*key, &mut encoded) {
                stored.push(StoredView {
                    kind: key.kind(),
                    id: key.id(),
                    org_id: views.org_of(*key).unwrap_or_default(),
                    position,
                    body: lz4_flex::compress_prepend_size(&encoded),
                });
            }
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    if threads < 2 || keys.len() < 2 {
        return serialise();
    }
    std::thread::scope(|scope| {
        let parts: Vec<_> = (0..threads.min(keys.len()))
            .map(|_| scope.spawn(serialise))
            .collect();
        parts
            .into_iter()
            .flat_map(|part| part.join().expect("serialising a view panicked"))
            .collect()
    })
}

/// Writes views and the checkpoint in one transaction.
pub async fn save(
    store: &dyn Backend,
    views: &[StoredView],
    checkpoint: u64,
) -> Result<(), StoreError> {
    store.save_views(CHECKPOINT, views, checkpoint).await
}
