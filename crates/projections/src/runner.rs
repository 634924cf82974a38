//! The projection runner and the handle readers use: one task follows the store's subscription,
//! applies events to the live views in batches, announces the position it reached (so a write
//! can be followed by a read that sees it), and persists changed views with their checkpoint.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tracing::Instrument as _;

use futures_util::{FutureExt, StreamExt};
use podledger_domain::ids::{KpiId, PodId};
use podledger_eventstore::{SharedBackend, StoreError};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use uuid::Uuid;

use crate::catch_up::catch_up;
use crate::envelope::Envelope;
use crate::kpi_view::KpiView;
use crate::org_view::OrgView;
use crate::persist;
use crate::pod_view::PodView;
use crate::views::{ViewKey, Views};

/// Most events applied under one write lock.
const BATCH: usize = 1_000;
/// Announcements a slow listener may fall behind by before it is told it lagged.
const ANNOUNCED: usize = 1_024;

/// What one batch of the runner changed, announced once the views reflect it (live feeds
/// listen to this: one store subscription per process feeds every subscriber).
#[derive(Clone, Debug)]
pub struct Applied {
    /// The position the views reached.
    pub position: u64,
    /// The views the batch changed, each with its organisation, in order of first change (after
    /// a catch-up on every core: grouped by the thread that folded them).
    pub changed: Vec<(Uuid, ViewKey)>,
}

impl Applied {
    /// Whether the batch changed `key`.
    pub fn touches(&self, key: ViewKey) -> bool {
        self.changed.iter().any(|(_, k)| *k == key)
    }

    /// Whether the batch changed anything of organisation `org`.
    pub fn touches_org(&self, org: Uuid) -> bool {
        self.changed.iter().any(|(o, _)| *o == org)
    }
}
/// How the runner persists.
#[derive(Clone, Copy, Debug)]
pub struct ProjectionOptions {
    /// Changed views are persisted this often (and on demand, and at shutdown), those due by
    /// `persist_growth`; after a crash, the runner replays only the events after the
    /// checkpoint.
    pub flush_every: Duration,
    /// A view is a whole document, so writing it costs as much as it is big. A view whose
    /// stream has `persist_growth_from` events or more is written again only once the events
    /// since it was last written are at least 1/`persist_growth` of its stream (or on demand,
    /// and at shutdown): the cost of persisting per event stays the same however long the
    /// history. Until then the checkpoint stays before its first unwritten event, and a
    /// restart folds again what came after it into the views that lack it — at most
    /// 1/`persist_growth` of each stream.
    pub persist_growth: u64,
    /// Streams shorter than this are written at every flush they changed in.
    pub persist_growth_from: u64,
    /// A view left for later is written anyway once its first unwritten event is this many
    /// positions behind the views: a long view that changed once and then rested does not
    /// hold the checkpoint back, and a restart reads at most this many events again.
    pub persist_lag: u64,
    /// When the views start this many events (or more) behind the head, the runner first folds
    /// the gap on every core ([`crate::catch_up`]) and only then follows the subscription;
    /// below it, the subscription alone is as quick.
    pub catch_up_from: u64,
    /// Time travel keeps a view every this many events of its stream
    /// ([`crate::snapshots`]): an `asOf` replays at most this many.
    pub snapshot_every: u64,
    /// At start, take the snapshots of the views' past in the background (they are kept in
    /// memory, so a restart begins without them).
    pub warm_snapshots: bool,
}

impl Default for ProjectionOptions {
    fn default() -> Self {
        Self {
            flush_every: Duration::from_secs(30),
            persist_growth: 8,
            persist_growth_from: 4_096,
            persist_lag: 1_000_000,
            catch_up_from: 10_000,
            snapshot_every: crate::snapshots::EVERY,
            warm_snapshots: true,
        }
    }
}

/// Why a projection call failed.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The projections did not reach the position in time.
    #[error("projections reached position {reached}, not {wanted}, within {waited:?}")]
    Timeout {
        /// The position asked for.
        wanted: u64,
        /// The position reached.
        reached: u64,
        /// How long the caller waited.
        waited: Duration,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The runner has stopped.
    #[error("the projection runner has stopped")]
    Stopped,
}

enum Control {
    Flush(oneshot::Sender<Result<(), StoreError>>),
}

#[derive(Debug)]
struct Shared {
    views: RwLock<Views>,
    position: watch::Receiver<u64>,
    control: mpsc::Sender<Control>,
    replays: AtomicU64,
    announce: broadcast::Sender<Arc<Applied>>,
    /// Views at every `snapshots::EVERY` events of their stream, for time travel.
    snapshots: crate::snapshots::Snapshots,
}

/// The live views and the runner that keeps them current.
#[derive(Clone, Debug)]
pub struct Projections {
    shared: Arc<Shared>,
    store: SharedBackend,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Control")
    }
}

impl Projections {
    /// Loads the persisted views and follows the store from their checkpoint.
    pub async fn start(store: impl Into<SharedBackend>) -> Result<Self, ProjectionError> {
        Self::start_with(store, ProjectionOptions::default()).await
    }

    /// [`Projections::start`] with options.
    pub async fn start_with(
        store: impl Into<SharedBackend>,
        options: ProjectionOptions,
    ) -> Result<Self, ProjectionError> {
        let store: SharedBackend = store.into();
        let views = persist::load(&*store).await?;
        let from = views.position;
        let (position_tx, position_rx) = watch::channel(from);
        let (control_tx, control_rx) = mpsc::channel(8);
        let shared = Arc::new(Shared {
            views: RwLock::new(views),
            position: position_rx,
            control: control_tx,
            replays: AtomicU64::new(0),
            announce: broadcast::channel(ANNOUNCED).0,
            snapshots: crate::snapshots::Snapshots::every(options.snapshot_every),
        });
        let warm = options.warm_snapshots && from > 0;
        tokio::spawn(follow(
            Arc::clone(&shared),
            store.clone(),
            position_tx,
            control_rx,
            options,
        ));
        let projections = Self { shared, store };
        if warm {
            let this = projections.clone();
            tokio::spawn(async move {
                // After the catch-up, not beside it: a start's first duty is to be current.
                if let Ok(head) = this.store().head().await {
                    let _ = this.wait_for(head, Duration::from_secs(3_600)).await;
                }
                let started = Instant::now();
                match this.warm_snapshots(from).await {
                    Ok(views) => tracing::info!(
                        views,
                        snapshots = this.snapshots().len(),
                        elapsed_ms = started.elapsed().as_millis(),
                        "time-travel snapshots taken"
                    ),
                    Err(error) => tracing::warn!(%error, "time-travel snapshots not taken"),
                }
            });
        }
        Ok(projections)
    }

    /// Forgets the persisted views and starts over from position 0 (`podledger rebuild`),
    /// folding the whole log on every core.
    pub async fn rebuild(store: impl Into<SharedBackend>) -> Result<Self, ProjectionError> {
        let store: SharedBackend = store.into();
        store.clear_views().await?;
        let options = ProjectionOptions {
            catch_up_from: 1,
            ..ProjectionOptions::default()
        };
        let projections = Self::start_with(store.clone(), options).await?;
        let head = store.head().await?;
        projections
            .wait_for(head, Duration::from_secs(3_600))
            .await?;
        projections.flush().await?;
        Ok(projections)
    }

    /// The global position the views reflect.
    pub fn position(&self) -> u64 {
        *self.shared.position.borrow()
    }

    /// Waits until the views reflect `position` (read-your-writes), at most `timeout`.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> Result<(), ProjectionError> {
        let mut rx = self.shared.position.clone();
        let started = Instant::now();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|p| *p >= position)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(ProjectionError::Stopped),
            Err(_) => Err(ProjectionError::Timeout {
                wanted: position,
                reached: self.position(),
                waited: started.elapsed(),
            }),
        }
    }

    /// Announcements of what each applied batch changed, from now on.
    pub fn changes(&self) -> broadcast::Receiver<Arc<Applied>> {
        self.shared.announce.subscribe()
    }

    /// Persists every changed view now.
    pub async fn flush(&self) -> Result<(), ProjectionError> {
        let (tx, rx) = oneshot::channel();
        self.shared
            .control
            .send(Control::Flush(tx))
            .await
            .map_err(|_| ProjectionError::Stopped)?;
        rx.await
            .map_err(|_| ProjectionError::Stopped)?
            .map_err(Into::into)
    }

    /// A consistent copy of every view (cheap: views are shared, not copied).
    pub fn snapshot(&self) -> Views {
        self.shared.views.read().expect("views lock").clone()
    }

    /// The organisation's view.
    pub fn org(&self, org: Uuid) -> Option<Arc<OrgView>> {
        self.shared
            .views
            .read()
            .expect("views lock")
            .orgs
            .get(&org)
            .cloned()
    }

    /// A pod's view, if it belongs to `org` (an empty view for a pod without events yet).
    pub fn pod(&self, org: Uuid, pod: PodId) -> Option<Arc<PodView>> {
        let views = self.shared.views.read().expect("views lock");
        let known = views
            .orgs
            .get(&org)
            .is_some_and(|o| o.state.pods.contains_key(&pod));
        if !known {
            return None;
        }
        Some(views.pods.get(&pod).cloned().unwrap_or_default())
    }

    /// A KPI's view, if it belongs to `org`.
    pub fn kpi(&self, org: Uuid, kpi: KpiId) -> Option<Arc<KpiView>> {
        let views = self.shared.views.read().expect("views lock");
        (views.org_of(ViewKey::Kpi(kpi)) == Some(org))
            .then(|| views.kpis.get(&kpi).cloned())
            .flatten()
    }

    /// The KPIs of a pod of `org`.
    pub fn kpis_of_pod(&self, org: Uuid, pod: PodId) -> Vec<Arc<KpiView>> {
        self.kpis_of_pods(org, &[pod])
            .remove(&pod)
            .unwrap_or_default()
    }

    /// The KPIs of each of `pods` (of organisation `org`), in one pass over the KPIs.
    pub fn kpis_of_pods(&self, org: Uuid, pods: &[PodId]) -> HashMap<PodId, Vec<Arc<KpiView>>> {
        let views = self.shared.views.read().expect("views lock");
        let mut by_pod = views.kpis_of_pods(pods);
        for list in by_pod.values_mut() {
            list.retain(|k| views.org_of(ViewKey::Kpi(k.id)) == Some(org));
        }
        by_pod
    }

    /// How many time-travel replays ran since start (telemetry; tests use it to see that a
    /// request's replays are batched).
    pub fn replays(&self) -> u64 {
        self.shared.replays.load(Ordering::Relaxed)
    }

    /// The time-travel snapshots kept.
    pub fn snapshots(&self) -> &crate::snapshots::Snapshots {
        &self.shared.snapshots
    }

    pub(crate) fn count_replay(&self) {
        self.shared.replays.fetch_add(1, Ordering::Relaxed);
    }

    /// The store the views follow.
    pub fn store(&self) -> &SharedBackend {
        &self.store
    }
}

/// Folds the events between the views and the head with [`catch_up`] (when there are many),
/// installs the result and announces it; returns the views it changed. On failure the
/// subscription takes over from where the views are.
async fn catch_up_on_every_core(
    shared: &Shared,
    store: &SharedBackend,
    position: &watch::Sender<u64>,
    threshold: u64,
) -> Vec<ViewKey> {
    let from = *position.borrow();
    let head = match store.head().await {
        Ok(head) if head >= from.saturating_add(threshold.max(1)) => head,
        Ok(_) => return Vec::new(),
        Err(error) => {
            tracing::error!(%error, "reading the head before catching up failed");
            return Vec::new();
        }
    };
    let base = shared.views.read().expect("views lock").clone();
    let scan = Arc::clone(store);
    let caught = tokio::task::spawn_blocking(move || catch_up(&*scan, &base, head)).await;
    let caught = match caught {
        Ok(Ok(caught)) => caught,
        Ok(Err(error)) => {
            tracing::error!(%error, "catching up failed; following the subscription instead");
            return Vec::new();
        }
        Err(error) => {
            tracing::error!(%error, "catching up panicked; following the subscription instead");
            return Vec::new();
        }
    };
    let reached = caught.views.position;
    tracing::info!(
        from,
        reached,
        events = caught.scanned,
        skipped = caught.skipped,
        "projections caught up"
    );
    *shared.views.write().expect("views lock") = caught.views;
    position.send_replace(reached);
    let keys = caught.changed.iter().map(|(_, key)| *key).collect();
    if shared.announce.receiver_count() > 0 {
        let _ = shared.announce.send(Arc::new(Applied {
            position: reached,
            changed: caught.changed,
        }));
    }
    keys
}

/// What the follow loop hands the persister: the views as they are (a copy of `Arc`s), those
/// changed since the previous hand-over, and who waits for them to be written (an explicit
/// flush, the shutdown).
struct Persist {
    views: Views,
    dirty: HashSet<ViewKey>,
    /// The position every persisted view holds all its stream's events up to: the views'
    /// position, or just before the first unwritten event of a view left for later.
    checkpoint: u64,
    reply: Option<oneshot::Sender<Result<(), StoreError>>>,
}

/// The changed views the follow loop has not handed over yet, and what was last written.
struct Unwritten {
    /// Each changed view and the position of its first event not written.
    dirty: HashMap<ViewKey, u64>,
    /// Each view's stream version when last written (or loaded).
    written: HashMap<ViewKey, u64>,
    growth: u64,
    growth_from: u64,
    lag: u64,
}

impl Unwritten {
    /// The views to write now (all if `everything`) with the checkpoint they make, taken out
    /// of the changed set; the others stay for a later hand-over.
    fn hand_over(
        &mut self,
        shared: &Shared,
        everything: bool,
        reply: Option<oneshot::Sender<Result<(), StoreError>>>,
    ) -> Persist {
        let views = shared.views.read().expect("views lock").clone();
        let (mut due, mut checkpoint) = (HashSet::new(), views.position);
        let (written, growth, growth_from) = (&mut self.written, self.growth, self.growth_from);
        let (lag, at) = (self.lag, views.position);
        self.dirty.retain(|key, first| {
            let version = views.version_of(*key).unwrap_or_default();
            let before = written.get(key).copied().unwrap_or_default();
            let grown = version < growth_from || (version - before) * growth >= version;
            let behind = at.saturating_sub(*first) >= lag;
            if everything || grown || behind {
                due.insert(*key);
                written.insert(*key, version);
                false
            } else {
                checkpoint = checkpoint.min(*first - 1);
                true
            }
        });
        Persist {
            views,
            dirty: due,
            checkpoint,
            reply,
        }
    }
}

async fn follow(
    shared: Arc<Shared>,
    store: SharedBackend,
    position: watch::Sender<u64>,
    mut control: mpsc::Receiver<Control>,
    options: ProjectionOptions,
) {
    let catch_up = tracing::info_span!("projection.catch_up", from = *position.borrow());
    // Persisting runs beside the fold, never in its way: serialising and writing a large view
    // takes as long as the view is big, and a mutation waiting to read its own write must not
    // wait for that. One hand-over at a time; while one is being written, changes gather.
    let (persist, jobs) = mpsc::channel(1);
    let from = *position.borrow();
    let persisting = tokio::spawn(persister(Arc::clone(&store), jobs, from));
    let mut unwritten = Unwritten {
        dirty: HashMap::new(),
        written: shared
            .views
            .read()
            .expect("views lock")
            .stream_versions()
            .collect(),
        growth: options.persist_growth.max(1),
        growth_from: options.persist_growth_from,
        lag: options.persist_lag,
    };
    unwritten.dirty = catch_up_on_every_core(&shared, &store, &position, options.catch_up_from)
        .instrument(catch_up)
        .await
        .into_iter()
        .map(|key| (key, from + 1))
        .collect();
    let mut events = store.subscribe(*position.borrow());
    let mut last_flush = Instant::now();
    loop {
        let first = tokio::select! {
            next = events.next() => next,
            Some(Control::Flush(reply)) = control.recv() => {
                let job = unwritten.hand_over(&shared, true, Some(reply));
                if persist.send(job).await.is_err() {
                    tracing::error!("the projection persister stopped");
                }
                last_flush = Instant::now();
                continue;
            }
        };
        let Some(first) = first else { break };
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match events.next().now_or_never() {
                Some(Some(next)) => batch.push(next),
                _ => break,
            }
        }
        let (last, changed) = fold(&shared, batch, &mut unwritten.dirty);
        if let Some(last) = last {
            position.send_replace(last);
            if let Some(changed) = changed {
                // No listener is not an error.
                let _ = shared.announce.send(Arc::new(Applied {
                    position: last,
                    changed,
                }));
            }
        }
        // Due, and the persister free: hand the changes over; busy: they wait for a later
        // batch.
        if !unwritten.dirty.is_empty()
            && last_flush.elapsed() >= options.flush_every
            && let Ok(permit) = persist.try_reserve()
        {
            permit.send(unwritten.hand_over(&shared, false, None));
            last_flush = Instant::now();
        }
    }
    let (reply, written) = oneshot::channel();
    let job = unwritten.hand_over(&shared, true, Some(reply));
    let result = match persist.send(job).await {
        Ok(()) => written
            .await
            .unwrap_or(Err(StoreError::backend(std::io::Error::other(
                "the projection persister stopped",
            )))),
        Err(_) => Err(StoreError::backend(std::io::Error::other(
            "the projection persister stopped",
        ))),
    };
    if let Err(error) = result {
        tracing::error!(%error, "persisting projections at shutdown failed");
    }
    drop(persist);
    let _ = persisting.await;
}

/// Decodes and folds one batch of the subscription into the live views (marking the views it
/// changes dirty); returns the last position it held and, if anyone listens for announcements,
/// what it changed.
fn fold<E: std::fmt::Display>(
    shared: &Shared,
    batch: Vec<Result<podledger_eventstore::RecordedEvent, E>>,
    dirty: &mut HashMap<ViewKey, u64>,
) -> (Option<u64>, Option<Vec<(Uuid, ViewKey)>>) {
    let mut envelopes = Vec::with_capacity(batch.len());
    let mut last = None;
    for recorded in batch {
        match recorded.map_err(|e| e.to_string()).and_then(|r| {
            let position = r.position;
            last = Some(position);
            Envelope::decode(r).map_err(|e| format!("position {position}: {e}"))
        }) {
            Ok(envelope) => envelopes.push(envelope),
            Err(error) => {
                tracing::error!(%error, "projection skipped an event it could not read");
            }
        }
    }
    let announce = shared.announce.receiver_count() > 0;
    let mut changed: Vec<(Uuid, ViewKey)> = Vec::new();
    {
        let _span = tracing::info_span!(
            "projection.apply",
            events = envelopes.len(),
            position = last.unwrap_or_default()
        )
        .entered();
        let mut views = shared.views.write().expect("views lock");
        for envelope in envelopes {
            let org = envelope.meta.org_id;
            let (at, version, occurred_at) = (
                envelope.meta.position,
                envelope.meta.stream_version,
                envelope.meta.occurred_at,
            );
            if let Some(key) = views.apply(envelope) {
                shared
                    .snapshots
                    .keep_if_due(key, at, version, occurred_at, &views);
                dirty.entry(key).or_insert(at);
                let entry = (org, key);
                if announce && !changed.contains(&entry) {
                    changed.push(entry);
                }
            }
        }
        if let Some(last) = last {
            views.position = views.position.max(last);
        }
    }
    (last, announce.then_some(changed))
}

/// Writes what the follow loop hands over, in order; views whose write failed are written
/// with the next hand-over.
async fn persister(store: SharedBackend, mut jobs: mpsc::Receiver<Persist>, mut persisted: u64) {
    let mut failed = HashSet::new();
    while let Some(Persist {
        views,
        mut dirty,
        checkpoint,
        reply,
    }) = jobs.recv().await
    {
        dirty.extend(failed.drain());
        let result = flush(&*store, views, &dirty, checkpoint, &mut persisted).await;
        if let Err(error) = &result {
            tracing::error!(%error, "persisting projections failed; will retry");
            failed = dirty;
        }
        if let Some(reply) = reply {
            let _ = reply.send(result);
        }
    }
}

#[tracing::instrument(name = "projection.persist", skip_all, fields(views = dirty.len()))]
async fn flush(
    store: &dyn podledger_eventstore::Backend,
    views: Views,
    dirty: &HashSet<ViewKey>,
    checkpoint: u64,
    persisted: &mut u64,
) -> Result<(), StoreError> {
    #[cfg(test)]
    let _held = {
        tests::AT_THE_GATE.fetch_add(1, Ordering::SeqCst);
        tests::PERSISTING.read().await
    };
    persist::write(store, views, dirty.iter().copied(), checkpoint, *persisted).await?;
    *persisted = checkpoint;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use podledger_domain::ids::{OrgId, PersonId};
    use podledger_domain::org::OrgCommand;
    use podledger_domain::{Actor, Command, Context};
    use podledger_eventstore::{
        CommandHandler, EventStore as _, RequestMeta, SqliteConfig, SqliteEventStore,
    };
    use uuid::Uuid;

    use super::Projections;

    /// Held for writing, it keeps every persist of this crate's tests waiting.
    pub static PERSISTING: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());
    /// Persists that reached it.
    pub static AT_THE_GATE: AtomicUsize = AtomicUsize::new(0);

    /// Creates an organisation named `name` and adds a second person to it; returns it and
    /// its founder.
    async fn organisation_of_two(handler: &CommandHandler, name: &str) -> (OrgId, PersonId) {
        let (org, admin) = (OrgId(Uuid::now_v7()), PersonId(Uuid::now_v7()));
        let ctx = Context::new(org, Actor::member(admin), chrono::Utc::now());
        let create = Command::Org(OrgCommand::CreateOrganisation {
            name: name.into(),
            sprint_length_days: None,
            founder_name: "Ada".into(),
            founder_email: None,
        });
        handler
            .execute(&create, &ctx, RequestMeta::default())
            .await
            .unwrap();
        add_person(handler, org, admin).await;
        (org, admin)
    }

    async fn add_person(handler: &CommandHandler, org: OrgId, admin: PersonId) {
        let command = Command::Org(OrgCommand::AddPerson {
            person_id: PersonId(Uuid::now_v7()),
            name: "Bo".into(),
            email: None,
        });
        let ctx = Context::new(org, Actor::member(admin), chrono::Utc::now());
        handler
            .execute(&command, &ctx, RequestMeta::default())
            .await
            .unwrap();
    }

    /// Given the views of three organisations, when they are written a group at a time, then
    /// a restart after all but the last group (the checkpoint not moved, some views ahead of
    /// it) folds to the same views, and once the last is written every view is stored at its
    /// version with the checkpoint at the head.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn views_written_a_group_at_a_time_move_the_checkpoint_with_the_last_group() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteEventStore::open(SqliteConfig::new(dir.path().join("g.db")))
            .await
            .unwrap();
        let handler = CommandHandler::new(Arc::new(store.clone()));
        for name in ["Acme", "Globex", "Initech"] {
            organisation_of_two(&handler, name).await;
        }
        let head = store.head().await.unwrap();
        let views = crate::catch_up::catch_up(&store, &crate::Views::default(), head)
            .unwrap()
            .views;
        let keys: Vec<_> = views.stream_versions().map(|(key, _)| key).collect();
        assert_eq!(keys.len(), 3, "one view per organisation: {keys:?}");
        let one_each: Vec<Vec<_>> = keys.iter().map(|key| vec![*key]).collect();

        // The first groups alone (as if the process died before the last): the checkpoint stays.
        let all_but_last = one_each[..one_each.len() - 1].to_vec();
        crate::persist::write_groups(&store, views.clone(), all_but_last, 0, 0)
            .await
            .unwrap();
        assert_eq!(crate::persist::load(&store).await.unwrap().position, 0);
        let folded: std::collections::HashMap<_, _> = views.stream_versions().collect();
        let restarted = Projections::start(store.clone()).await.unwrap();
        restarted
            .wait_for(head, Duration::from_secs(10))
            .await
            .unwrap();
        let resumed: std::collections::HashMap<_, _> =
            restarted.snapshot().stream_versions().collect();
        assert_eq!(resumed, folded);

        crate::persist::write_groups(&store, views.clone(), one_each, head, 0)
            .await
            .unwrap();
        let loaded = crate::persist::load(&store).await.unwrap();
        assert_eq!(loaded.position, head);
        let stored: std::collections::HashMap<_, _> = loaded.stream_versions().collect();
        assert_eq!(stored, folded);
    }

    // Architecture Invariant: persisting the views never holds the fold — a write is readable
    // while the views are being written.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_is_folded_while_the_views_are_being_persisted() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteEventStore::open(SqliteConfig::new(dir.path().join("p.db")))
            .await
            .unwrap();
        let handler = CommandHandler::new(Arc::new(store.clone()));
        let projections = Projections::start(store.clone()).await.unwrap();
        let (org, admin) = organisation_of_two(&handler, "Acme").await;
        let head = store.head().await.unwrap();
        projections
            .wait_for(head, Duration::from_secs(10))
            .await
            .unwrap();

        // Given a persist that cannot finish
        let gate = PERSISTING.write().await;
        let arrived = AT_THE_GATE.load(Ordering::SeqCst);
        let flushing = tokio::spawn({
            let projections = projections.clone();
            async move { projections.flush().await }
        });
        while AT_THE_GATE.load(Ordering::SeqCst) == arrived {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // When another write is made, then it is folded all the same
        add_person(&handler, org, admin).await;
        let head = store.head().await.unwrap();
        projections
            .wait_for(head, Duration::from_secs(10))
            .await
            .expect("the fold went on while the views were being persisted");
        let members = |p: &Projections| {
            p.org(org.as_uuid())
                .map(|o| o.state.people.len())
                .unwrap_or_default()
        };
        assert_eq!(members(&projections), 3, "the founder and the two added");
        assert!(!flushing.is_finished(), "the persist is still held");
        // and the persist completes once let go, with the views as they were handed over.
        drop(gate);
        flushing.await.unwrap().unwrap();
        projections.flush().await.unwrap();
    }
}
