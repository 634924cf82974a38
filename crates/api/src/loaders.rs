//! DataLoaders, one set per request, where resolving objects one by one would repeat work (the
//! N+1 problem):
//!
//! - [`KpisOfPods`]: `organisation { pods { kpis } }` asks for the KPIs of every pod; one pass
//!   over the KPIs answers all of them instead of one scan per pod.
//! - [`PodsAsOf`]: pods, sprints and items asked `asOf` the same point in one request are
//!   replayed together — each stream read once, each point resolved once — instead of one
//!   replay per field.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use podledger_domain::ids::PodId;
use podledger_projections::history::pod_existed;
use podledger_projections::kpi_view::KpiView;
use podledger_projections::views::Views;
use podledger_projections::{AsOf, ProjectionError, Projections};
use uuid::Uuid;

use crate::objects::PodScope;

/// The KPIs of live pods of one organisation.
#[derive(Debug)]
pub struct KpisOfPods {
    projections: Projections,
    org: Uuid,
}

impl Loader<PodId> for KpisOfPods {
    type Value = Vec<Arc<KpiView>>;
    type Error = Arc<ProjectionError>;

    async fn load(&self, keys: &[PodId]) -> Result<HashMap<PodId, Self::Value>, Self::Error> {
        Ok(self.projections.kpis_of_pods(self.org, keys))
    }
}

/// A pod as of a past point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PodAt {
    /// The pod.
    pub pod: PodId,
    /// The point.
    pub as_of: AsOf,
}

/// Pods of one organisation as of past points, replayed together per point.
#[derive(Debug)]
pub struct PodsAsOf {
    projections: Projections,
    org: Uuid,
}

impl Loader<PodAt> for PodsAsOf {
    type Value = Arc<PodScope>;
    type Error = Arc<ProjectionError>;

    async fn load(&self, keys: &[PodAt]) -> Result<HashMap<PodAt, Self::Value>, Self::Error> {
        let mut by_point: HashMap<AsOf, Vec<PodId>> = HashMap::new();
        for key in keys {
            by_point.entry(key.as_of).or_default().push(key.pod);
        }
        let mut scopes = HashMap::new();
        for (as_of, pods) in by_point {
            let views = self
                .projections
                .pods_as_of(self.org, &pods, as_of)
                .await
                .map_err(Arc::new)?;
            for (pod, scope) in past_scopes(&views, self.org, &pods, as_of) {
                scopes.insert(PodAt { pod, as_of }, scope);
            }
        }
        Ok(scopes)
    }
}

/// The time of a past point: the time asked for, or for a position the latest business time
/// the replay folded.
pub fn point_time(views: &Views, as_of: AsOf) -> Option<chrono::DateTime<chrono::Utc>> {
    match as_of {
        AsOf::Time(t) => Some(t),
        AsOf::Position(_) => views.occurred_at,
    }
}

/// The scopes of those of `pods` that existed in `views` (replayed by
/// [`Projections::pods_as_of`] to `as_of`), each with its KPIs and the point's time.
pub fn past_scopes(
    views: &Views,
    org: Uuid,
    pods: &[PodId],
    as_of: AsOf,
) -> Vec<(PodId, Arc<PodScope>)> {
    let Some(org_view) = views.orgs.get(&org) else {
        return Vec::new();
    };
    let time = point_time(views, as_of);
    pods.iter()
        .filter(|pod| pod_existed(views, org, **pod))
        .filter_map(|&pod| {
            let mut kpis: Vec<_> = views
                .kpis
                .values()
                .filter(|k| k.pod_id == pod)
                .cloned()
                .collect();
            kpis.sort_by(|a, b| a.name.cmp(&b.name));
            let view = views.pods.get(&pod).cloned().unwrap_or_default();
            Some((
                pod,
                PodScope::new(org_view.clone(), pod, view, Some(kpis), time)?,
            ))
        })
        .collect()
}

/// The loaders of one request (of one organisation); results are cached for the request.
pub struct Loaders {
    /// KPIs of live pods.
    pub kpis: DataLoader<KpisOfPods, HashMapCache>,
    /// Pods as of past points.
    pub as_of: DataLoader<PodsAsOf, HashMapCache>,
    /// The request's turn at the store's readers: a request reads one audit page at a time,
    /// so however many aliases it sends it holds one reader connection, and a caller holds no
    /// more than its running requests (see `admission`).
    pub store_reads: std::sync::Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for Loaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Loaders")
    }
}

impl Loaders {
    /// Fresh loaders for a request of organisation `org`.
    pub fn new(projections: &Projections, org: Uuid) -> Self {
        Self {
            kpis: DataLoader::with_cache(
                KpisOfPods {
                    projections: projections.clone(),
                    org,
                },
                tokio::spawn,
                HashMapCache::default(),
            ),
            as_of: DataLoader::with_cache(
                PodsAsOf {
                    projections: projections.clone(),
                    org,
                },
                tokio::spawn,
                HashMapCache::default(),
            ),
            store_reads: std::sync::Arc::new(tokio::sync::Semaphore::new(1)),
        }
    }
}
