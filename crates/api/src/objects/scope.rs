//! What a request sees of a pod: the organisation's view and the pod's (live, or replayed as of
//! a past point), and the pod's metrics, computed at most once per request.

use std::sync::{Arc, OnceLock};

use podledger_domain::ids::PodId;
use podledger_domain::org::Pod as PodSummary;
use podledger_projections::kpi_view::KpiView;
use podledger_projections::metrics::{PodMetrics, SprintMetrics, pod_metrics, sprint_metrics_at};
use podledger_projections::org_view::OrgView;
use podledger_projections::pod_view::PodView;

/// A pod's views as one request sees them.
#[derive(Debug)]
pub struct PodScope {
    /// The organisation's view at the same point.
    pub org: Arc<OrgView>,
    /// The pod.
    pub id: PodId,
    /// The pod's view.
    pub view: Arc<PodView>,
    /// The pod's KPIs when the scope is a past point (replayed with it); a live scope loads
    /// them on demand, batched across pods (see `loaders`).
    pub past_kpis: Option<Vec<Arc<KpiView>>>,
    /// The time of a past point (`None`: the scope is live, its time is the clock's).
    pub past_time: Option<chrono::DateTime<chrono::Utc>>,
    metrics: OnceLock<PodMetrics>,
    /// The pod's §9 figures at the scope's time, computed on first use.
    operating: OnceLock<super::operating::Operating>,
}

impl PodScope {
    /// The pod's KPIs at the scope's point: replayed with it for a past point, else the live
    /// ones, loaded in one batch with the other pods' of the request.
    pub async fn kpi_views(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> crate::error::ApiResult<Vec<Arc<KpiView>>> {
        Ok(match &self.past_kpis {
            Some(kpis) => kpis.clone(),
            None => crate::context::loaders(ctx)?
                .kpis
                .load_one(self.id)
                .await
                .map_err(crate::error::ApiError::from)?
                .unwrap_or_default(),
        })
    }

    /// The scope of `id` as the live views have it, if the organisation has that pod.
    pub fn live(org: Arc<OrgView>, id: PodId, view: Arc<PodView>) -> Option<Arc<Self>> {
        Self::new(org, id, view, None, None)
    }

    /// The scope of `id`, if the organisation has that pod: live, or at a past point with
    /// the KPIs replayed with it and its time.
    pub fn new(
        org: Arc<OrgView>,
        id: PodId,
        view: Arc<PodView>,
        past_kpis: Option<Vec<Arc<KpiView>>>,
        past_time: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Option<Arc<Self>> {
        org.state.pods.contains_key(&id).then(|| {
            Arc::new(Self {
                org,
                id,
                view,
                past_kpis,
                past_time,
                metrics: OnceLock::new(),
                operating: OnceLock::new(),
            })
        })
    }

    /// The time the scope is at: the clock's for a live scope, the point's for a past one.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.past_time.unwrap_or_else(chrono::Utc::now)
    }

    /// The organisation's record of the pod (name, focus, PO, SM, members).
    pub fn summary(&self) -> &PodSummary {
        &self.org.state.pods[&self.id]
    }

    /// The pod's §9 figures (retros, approvals, service requests, the audit's counts) at the
    /// scope's time, computed on first use.
    pub fn operating(&self) -> &super::operating::Operating {
        self.operating
            .get_or_init(|| super::operating::Operating::of(self))
    }

    /// The pod's metrics (read from the view's tally), on first use.
    pub fn metrics(&self) -> &PodMetrics {
        self.metrics.get_or_init(|| pod_metrics(&self.view, None))
    }

    /// The metrics of the sprint at `index` in plan order: a closed sprint's are kept with
    /// the view, an open one's computed now.
    pub fn sprint_metrics(&self, index: usize) -> std::borrow::Cow<'_, SprintMetrics> {
        sprint_metrics_at(&self.view, index).expect("a sprint of the scope")
    }
}
