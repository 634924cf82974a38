//! `podledger copy`: a whole log from one backend to another (SQLite to PostgreSQL and back),
//! every event as it is stored — position, id, stream and version, both times, metadata — so
//! that the target is the same history, not a replay of it.
//!
//! - **Resumable.** Each batch is one transaction on the target ([`Backend::restore`]); a copy
//!   that stops anywhere resumes from the target's head, after checking that the target's last
//!   event is the source's event at that position (a target holding another log is refused).
//! - **Verified.** After the last batch both logs are folded into views from nothing, and every
//!   view of the target must equal the source's; then the target's views are persisted, so its
//!   first `serve` starts current instead of folding the log again.

use std::sync::Arc;

use podledger_eventstore::{Backend, StoreError};
use podledger_projections::Views;
use podledger_projections::catch_up::catch_up;

/// Events per batch (one read on the source, one transaction on the target).
pub const BATCH: usize = 5_000;

/// What a copy did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Copied {
    /// The target's head before this run (0 for a fresh copy; more when it resumed).
    pub resumed_at: u64,
    /// Events this run copied.
    pub events: u64,
    /// The head both logs have now.
    pub head: u64,
    /// Views compared equal (organisations, pods and KPIs).
    pub views: usize,
}

/// Why a copy stopped.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// A store failed (the copy can be run again: it resumes).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The target is not a prefix of the source.
    #[error("the target holds a different log: {0}")]
    Diverged(String),
    /// Folding both logs gave different views.
    #[error("the copy's views differ from the source's: {0}")]
    Mismatch(String),
}

/// Copies every event of `from` that `to` lacks, in batches of `batch`, telling `progress` the
/// target's head and the source's head after each; then verifies and persists the target's
/// views.
pub async fn copy(
    from: &Arc<dyn Backend>,
    to: &Arc<dyn Backend>,
    batch: usize,
    mut progress: impl FnMut(u64, u64),
) -> Result<Copied, CopyError> {
    let mut head = to.head().await?;
    let resumed_at = head;
    let source_head = from.head().await?;
    if head > source_head {
        return Err(CopyError::Diverged(format!(
            "it has {head} events, the source {source_head}"
        )));
    }
    if head > 0 {
        let theirs = from.read_all(head - 1, 1).await?;
        let ours = to.read_all(head - 1, 1).await?;
        if theirs != ours {
            return Err(CopyError::Diverged(format!(
                "its event at position {head} is not the source's"
            )));
        }
    }
    progress(head, source_head);
    loop {
        let events = from.read_all(head, batch.max(1)).await?;
        if events.is_empty() {
            break;
        }
        head = to.restore(&events).await?;
        progress(head, from.head().await?.max(head));
    }
    let views = verify(from, to, head).await?;
    Ok(Copied {
        resumed_at,
        events: head - resumed_at,
        head,
        views,
    })
}

/// Folds both logs up to `head` and compares every view; persists the target's views.
async fn verify(
    from: &Arc<dyn Backend>,
    to: &Arc<dyn Backend>,
    head: u64,
) -> Result<usize, CopyError> {
    let fold = |store: Arc<dyn Backend>| {
        tokio::task::spawn_blocking(move || catch_up(&*store, &Views::default(), head))
    };
    let (theirs, ours) = (fold(Arc::clone(from)), fold(Arc::clone(to)));
    let theirs = joined(theirs.await)??.views;
    let ours = joined(ours.await)??.views;
    let differs = difference(&theirs, &ours);
    if let Some(what) = differs {
        return Err(CopyError::Mismatch(what));
    }
    let keys: Vec<_> = ours.stream_versions().map(|(key, _)| key).collect();
    let count = keys.len();
    to.clear_views().await?;
    podledger_projections::persist::write(&**to, ours, keys, head, 0).await?;
    Ok(count)
}

fn joined<T>(task: Result<T, tokio::task::JoinError>) -> Result<T, CopyError> {
    task.map_err(|e| CopyError::Store(StoreError::backend(std::io::Error::other(e.to_string()))))
}

/// The first view that differs between `a` and `b`, named.
fn difference(a: &Views, b: &Views) -> Option<String> {
    if a.position != b.position {
        return Some(format!("positions {} and {}", a.position, b.position));
    }
    if a.orgs.len() != b.orgs.len() || a.pods.len() != b.pods.len() || a.kpis.len() != b.kpis.len()
    {
        return Some(format!(
            "{}/{}/{} organisations/pods/KPIs against {}/{}/{}",
            a.orgs.len(),
            a.pods.len(),
            a.kpis.len(),
            b.orgs.len(),
            b.pods.len(),
            b.kpis.len()
        ));
    }
    let org = a.orgs.iter().find(|(id, v)| b.orgs.get(*id) != Some(*v));
    if let Some((id, _)) = org {
        return Some(format!("organisation {id}"));
    }
    let pod = a.pods.iter().find(|(id, v)| b.pods.get(*id) != Some(*v));
    if let Some((id, _)) = pod {
        return Some(format!("pod {}", id.0));
    }
    let kpi = a.kpis.iter().find(|(id, v)| b.kpis.get(*id) != Some(*v));
    if let Some((id, _)) = kpi {
        return Some(format!("KPI {}", id.0));
    }
    (a.owners != b.owners).then(|| "the views' organisations".to_owned())
}
