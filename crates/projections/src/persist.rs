//! Persistence of the views in the store's database ([`Backend::save_views`]): the views handed
//! over are written in one transaction with the checkpoint — or, for a large hand-over, in
//! [`groups`], the checkpoint moving with the last — so every document holds all its stream's
//! events up to the checkpoint (a view written later than the checkpoint, or in an earlier
//! group, holds some after it too, and a restart passes over those: `Views::apply_run`). A
//! view is stored in postcard, LZ4-compressed: a large pod's view is megabytes, and writing
//! (and syncing) it was most of a rebuild's time when it was JSON text.
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

/// Events (the views' stream versions, summed) below which a flush is written in one
/// transaction; above, in [`GROUPS`] (see [`groups`]).
pub const SMALL: u64 = 100_000;
/// Groups a large flush is written in.
pub const GROUPS: u64 = 4;

/// `keys` in the groups a flush serialises and writes them in, largest views first: one group
/// for a flush of fewer than `small` events, else about `groups` of about equal events (the
/// flush writes a group while it serialises the next: a rebuild's flush was serialising on
/// both cores, then writing on one — 90 ms each for a 1 M-event organisation). [`write`]
/// uses [`SMALL`] and [`GROUPS`].
pub fn groups(
    views: &Views,
    keys: impl IntoIterator<Item = ViewKey>,
    small: u64,
    groups: u64,
) -> Vec<Vec<ViewKey>> {
    let mut sized: Vec<(u64, ViewKey)> = keys
        .into_iter()
        .map(|key| (views.version_of(key).unwrap_or_default(), key))
        .collect();
    sized.sort_by_key(|(length, _)| std::cmp::Reverse(*length));
    let total: u64 = sized.iter().map(|(length, _)| length).sum();
    let per_group = if total < small {
        u64::MAX
    } else {
        total.div_ceil(groups.max(1))
    };
    let (mut grouped, mut group, mut filled) = (Vec::new(), Vec::new(), 0);
    for (length, key) in sized {
        group.push(key);
        filled += length;
        if filled >= per_group {
            grouped.push(std::mem::take(&mut group));
            filled = 0;
        }
    }
    if !group.is_empty() {
        grouped.push(group);
    }
    grouped
}

/// Serialises the views named by `keys`, on up to as many threads as there are cores (a
/// blocking call: run it off the async workers).
///
/// The threads take the views in the order given from one shared queue: [`groups`] gives them
/// largest first, so the large pods spread over the threads and the many small KPIs fill in
/// after them (dealing them out in a fixed order left one thread with most of the work).
pub fn documents(views: &Views, keys: &[ViewKey]) -> Vec<StoredView> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let serialise = || -> Vec<StoredView> {
        let (mut encoded, mut stored) = (Vec::new(), Vec::new());
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(key) = keys.get(i) else {
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

/// Writes the views named by `keys` and moves the checkpoint to `checkpoint`, from
/// `persisted` (where the stored checkpoint stands): in the [`groups`] of [`SMALL`] and
/// [`GROUPS`], by [`write_groups`].
pub async fn write(
    store: &dyn Backend,
    views: Views,
    keys: impl IntoIterator<Item = ViewKey>,
    checkpoint: u64,
    persisted: u64,
) -> Result<(), StoreError> {
    let groups = groups(&views, keys, SMALL, GROUPS);
    write_groups(store, views, groups, checkpoint, persisted).await
}

/// Serialises `groups` of views off the async workers, on every core, and writes each group
/// while the next is serialised. Every group but the last is written with the checkpoint as it
/// was (`persisted`): its views are ahead of it until the last group moves it to `checkpoint`,
/// which a restart allows for (`Views::apply_run` passes over what a view already holds).
pub async fn write_groups(
    store: &dyn Backend,
    views: Views,
    groups: Vec<Vec<ViewKey>>,
    checkpoint: u64,
    persisted: u64,
) -> Result<(), StoreError> {
    let views = std::sync::Arc::new(views);
    let serialise = |group: Vec<ViewKey>| {
        let views = std::sync::Arc::clone(&views);
        tokio::task::spawn_blocking(move || documents(&views, &group))
    };
    let mut groups = groups.into_iter();
    let mut next = groups.next().map(serialise);
    if next.is_none() && checkpoint == persisted {
        return Ok(());
    }
    loop {
        let documents = match next.take() {
            Some(serialising) => serialising
                .await
                .map_err(|e| StoreError::backend(std::io::Error::other(e.to_string())))?,
            None => Vec::new(),
        };
        next = groups.next().map(serialise);
        let last = next.is_none();
        save(store, &documents, if last { checkpoint } else { persisted }).await?;
        if last {
            return Ok(());
        }
    }
}

/// Writes views and the checkpoint in one transaction.
pub async fn save(
    store: &dyn Backend,
    views: &[StoredView],
    checkpoint: u64,
) -> Result<(), StoreError> {
    store.save_views(CHECKPOINT, views, checkpoint).await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use podledger_domain::ids::PodId;
    use podledger_domain::pod::PodState;
    use uuid::Uuid;

    use super::groups;
    use crate::pod_view::PodView;
    use crate::views::{ViewKey, Views};

    fn pods(versions: &[u64]) -> (Views, Vec<ViewKey>) {
        let mut views = Views::default();
        let mut keys = Vec::new();
        for (n, version) in versions.iter().enumerate() {
            let id = PodId(Uuid::from_u128(n as u128 + 1));
            let view = PodView {
                state: PodState {
                    version: *version,
                    ..PodState::default()
                },
                ..PodView::default()
            };
            views.pods.insert(id, Arc::new(view));
            keys.push(ViewKey::Pod(id));
        }
        (views, keys)
    }

    /// Given views under the threshold, when grouped, then one group, largest first; given
    /// more, then groups of about equal events, largest first, every view exactly once.
    #[test]
    fn a_flush_is_grouped_by_size_largest_first() {
        let (views, keys) = pods(&[10, 40, 30, 20]);
        let one = groups(&views, keys.clone(), 101, 4);
        assert_eq!(one, [vec![keys[1], keys[2], keys[3], keys[0]]]);

        let (views, keys) = pods(&[10, 40, 30, 20, 5, 5, 5, 5]);
        let grouped = groups(&views, keys.clone(), 100, 3);
        // 120 events in three groups of at least 40: [40], [30, 20], then the rest.
        assert_eq!(
            grouped,
            [
                vec![keys[1]],
                vec![keys[2], keys[3]],
                vec![keys[0], keys[4], keys[5], keys[6], keys[7]],
            ]
        );
        assert!(groups(&views, Vec::new(), 0, 4).is_empty());
    }
}
