//! Time travel: any view as of a global position or a time — the state after the last event
//! recorded at or before it — computed by replaying the view's own stream, never touching the
//! live views.

use chrono::{DateTime, Utc};
use podledger_domain::ids::PodId;
use podledger_eventstore::StoreError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::envelope::Envelope;
use crate::runner::{ProjectionError, Projections};
use crate::views::{ViewKey, Views};

/// A point in the past.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AsOf {
    /// After the event at this global position.
    Position(u64),
    /// After the organisation's last event that happened (business time) at or before this time.
    Time(DateTime<Utc>),
}

impl Projections {
    /// The global position of a point in `org`'s past: for a time, the organisation's last
    /// event whose business time is at or before it (see [`podledger_eventstore::EventStore::position_at`]).
    pub async fn resolve(&self, org: Uuid, as_of: AsOf) -> Result<u64, ProjectionError> {
        let store = self.store();
        match as_of {
            AsOf::Position(p) => Ok(p.min(store.head().await?)),
            AsOf::Time(t) => Ok(store.position_at(org, t).await?),
        }
    }

    /// The views of `keys` as of `position`, folded from their streams — each from its
    /// nearest snapshot at or before `position` (see [`crate::snapshots`]).
    pub async fn replay(&self, keys: &[ViewKey], position: u64) -> Result<Views, StoreError> {
        self.replay_with(keys, position, true).await
    }

    /// [`Self::replay`], from the snapshots or (`snapshots: false`) from each stream's first
    /// event; either way it leaves the snapshots it passes behind.
    pub async fn replay_with(
        &self,
        keys: &[ViewKey],
        position: u64,
        snapshots: bool,
    ) -> Result<Views, StoreError> {
        self.count_replay();
        let this = self.clone();
        let keys = keys.to_vec();
        // Each stream read straight from SQLite, its rows lent to the fold (a blocking scan,
        // off the async workers).
        tokio::task::spawn_blocking(move || this.replay_blocking(&keys, position, snapshots))
            .await
            .map_err(StoreError::backend)?
    }

    /// Takes the snapshots of every view's past up to `position` (the checkpoint a restart
    /// loaded): one replay per view whose stream has reached a snapshot, one view at a time,
    /// off the async workers; returns how many views were replayed. The live fold takes the
    /// snapshots after `position` meanwhile; a snapshot taken twice is kept once.
    pub async fn warm_snapshots(&self, position: u64) -> Result<usize, StoreError> {
        let every = self.snapshots().interval();
        let keys: Vec<ViewKey> = self
            .snapshot()
            .stream_versions()
            .filter(|(_, version)| *version >= every)
            .map(|(key, _)| key)
            .collect();
        for key in &keys {
            let (this, key) = (self.clone(), *key);
            tokio::task::spawn_blocking(move || this.replay_blocking(&[key], position, true))
                .await
                .map_err(StoreError::backend)??;
        }
        Ok(keys.len())
    }

    fn replay_blocking(
        &self,
        keys: &[ViewKey],
        position: u64,
        snapshots: bool,
    ) -> Result<Views, StoreError> {
        let kept = self.snapshots();
        let mut views = Views::default();
        let mut failed = None;
        for key in keys {
            let stream: std::sync::Arc<str> = key.stream().into();
            let mut after = 0;
            if snapshots && let Some(snapshot) = kept.nearest(*key, position) {
                views.adopt(*key, &snapshot.views);
                views.occurred_at = views.occurred_at.max(Some(snapshot.occurred_at));
                after = snapshot.version;
            }
            self.store()
                .scan_stream(&stream, after, position, &mut |e| {
                    if failed.is_some() {
                        return;
                    }
                    match Envelope::scanned(e, &stream) {
                        Ok(envelope) => {
                            let (at, version, occurred_at) =
                                (e.position, e.stream_version, envelope.meta.occurred_at);
                            views.occurred_at = views.occurred_at.max(Some(occurred_at));
                            if views.apply(envelope).is_some() {
                                kept.keep_if_due(*key, at, version, occurred_at, &views);
                            }
                        }
                        Err(error) => failed = Some(error),
                    }
                })?;
            if let Some(error) = failed.take() {
                return Err(StoreError::backend(error));
            }
        }
        views.position = position;
        Ok(views)
    }

    /// The organisation, one of its pods and the pod's KPIs as of a point in the past; `None`
    /// if the pod did not exist then (or is not the organisation's).
    pub async fn pod_as_of(
        &self,
        org: Uuid,
        pod: PodId,
        as_of: AsOf,
    ) -> Result<Option<Views>, ProjectionError> {
        let views = self.pods_as_of(org, &[pod], as_of).await?;
        Ok(pod_existed(&views, org, pod).then_some(views))
    }

    /// The organisation, some of its pods and their KPIs as of one point in the past, in one
    /// replay (a request asking for several pods at one point reads each stream once). Check
    /// each pod with [`pod_existed`].
    pub async fn pods_as_of(
        &self,
        org: Uuid,
        pods: &[PodId],
        as_of: AsOf,
    ) -> Result<Views, ProjectionError> {
        let position = self.resolve(org, as_of).await?;
        let mut keys = vec![ViewKey::Org(org)];
        keys.extend(pods.iter().map(|p| ViewKey::Pod(*p)));
        keys.extend(
            self.kpis_of_pods(org, pods)
                .values()
                .flatten()
                .map(|k| ViewKey::Kpi(k.id)),
        );
        Ok(self.replay(&keys, position).await?)
    }
}

/// Whether `pod` was a pod of `org` in `views` (as replayed by [`Projections::pods_as_of`]).
pub fn pod_existed(views: &Views, org: Uuid, pod: PodId) -> bool {
    let exists = views
        .orgs
        .get(&org)
        .is_some_and(|o| o.state.pods.contains_key(&pod));
    let own_pod = views.org_of(ViewKey::Pod(pod)).is_none_or(|o| o == org);
    exists && own_pod
}
