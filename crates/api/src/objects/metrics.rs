//! Sprint and pod metrics (SPEC §6) as the schema shows them; null where undefined.

use async_graphql::SimpleObject;
use podledger_projections::metrics::{PodMetrics as MPod, SprintMetrics as MSprint};

use super::enums::BlockerCategory;
use super::operating::Operating;

fn int(n: impl TryInto<i32>) -> i32 {
    n.try_into().unwrap_or(i32::MAX)
}

/// Velocity split by cause (SPEC §6).
#[derive(SimpleObject, Clone, Debug)]
pub struct VelocityByCause {
    /// Σ t0 estimate of done committed items.
    pub committed_done: i32,
    /// Σ (estimate at completion − t0 estimate) of done committed items.
    pub reestimated_done: i32,
    /// Σ estimate of done items added after start.
    pub added_done: i32,
    /// Σ estimate of items removed after start.
    pub removed: i32,
    /// Σ estimate at close of unfinished items.
    pub not_done: i32,
}

/// The metrics of a sprint (SPEC §6); null when undefined.
#[derive(SimpleObject, Clone, Debug)]
pub struct SprintMetrics {
    /// Σ t0 estimates of committed items.
    pub committed_points: Option<i32>,
    /// Σ estimates of done items (closed sprints).
    pub velocity: Option<i32>,
    /// Done committed points / committed points.
    pub commitment_reliability: Option<f64>,
    /// (added + removed + re-estimated points) / committed points.
    pub scope_churn: Option<f64>,
    /// Done items / items at close.
    pub task_completion: Option<f64>,
    /// All goal items done.
    pub goal_met: Option<bool>,
    /// Velocity by cause.
    pub velocity_by_cause: Option<VelocityByCause>,
    /// Backlog churn rate over the sprint's window.
    pub backlog_churn_rate: Option<f64>,
    /// Scope additions after start.
    pub additions: i32,
    /// Scope removals after start.
    pub removals: i32,
}

impl From<&MSprint> for SprintMetrics {
    fn from(m: &MSprint) -> Self {
        Self {
            committed_points: m.committed_points.map(int),
            velocity: m.velocity.map(int),
            commitment_reliability: m.commitment_reliability,
            scope_churn: m.scope_churn,
            task_completion: m.task_completion,
            goal_met: m.goal_met,
            velocity_by_cause: m.velocity_by_cause.as_ref().map(|c| VelocityByCause {
                committed_done: int(c.committed_done),
                reestimated_done: int(c.reestimated_done),
                added_done: int(c.added_done),
                removed: int(c.removed),
                not_done: int(c.not_done),
            }),
            backlog_churn_rate: m.backlog_churn_rate,
            additions: int(m.additions),
            removals: int(m.removals),
        }
    }
}

/// Metrics of a pod over its closed sprints (SPEC §6); null when undefined.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct PodMetrics {
    /// Closed sprints.
    pub closed_sprints: i32,
    /// Mean velocity of the last 3 closed sprints.
    pub average_velocity: Option<f64>,
    /// Goal-met sprints / closed sprints.
    pub goal_completion_rate: Option<f64>,
    /// Goal met without escalation / closed sprints.
    pub goals_without_escalation: Option<f64>,
    /// Median blocker resolution time, hours.
    pub blocker_median_hours: Option<f64>,
    /// p90 blocker resolution time, hours.
    pub blocker_p90_hours: Option<f64>,
    /// Share of blockers resolved within 48 h.
    pub blockers_within_48h: Option<f64>,
    /// Resolved blockers.
    pub blockers_resolved: i32,
    /// Open blockers.
    pub blockers_open: i32,
    /// Blockers raised, by month and category.
    pub blocker_counts: Vec<BlockerCount>,
    /// Where the §9 figures come from: computed once per scope when first asked for.
    #[graphql(skip)]
    operating: OperatingSource,
}

/// How many blockers of a category were raised in a month.
#[derive(SimpleObject, Clone, Debug)]
pub struct BlockerCount {
    /// `YYYY-MM` of the raise time.
    pub month: String,
    /// Category.
    pub category: BlockerCategory,
    /// How many blockers of this category.
    pub count: i32,
}

/// The §9 figures of a `PodMetrics`: a scope's, computed on first use (a query that asks only
/// for §6 metrics never runs the audit), or already computed (a feed compares them).
#[derive(Clone, Debug)]
pub enum OperatingSource {
    /// The scope's, on demand.
    Scope(std::sync::Arc<super::PodScope>),
    /// Computed.
    Ready(std::sync::Arc<super::operating::Operating>),
}

impl PodMetrics {
    /// The pod's §6 metrics, and its §9 figures from `operating`.
    pub fn new(m: &MPod, operating: OperatingSource) -> Self {
        Self {
            operating,
            closed_sprints: int(m.closed_sprints),
            average_velocity: m.average_velocity,
            goal_completion_rate: m.goal_completion_rate,
            goals_without_escalation: m.goals_without_escalation,
            blocker_median_hours: m.blockers.median_hours,
            blocker_p90_hours: m.blockers.p90_hours,
            blockers_within_48h: m.blockers.share_within_48h,
            blockers_resolved: int(m.blockers.resolved),
            blockers_open: int(m.blockers.open),
            blocker_counts: m
                .blockers
                .by_month_and_category
                .iter()
                .map(|c| BlockerCount {
                    month: c.month.clone(),
                    category: c.category.into(),
                    count: int(c.count),
                })
                .collect(),
        }
    }
}

#[async_graphql::ComplexObject]
impl PodMetrics {
    /// Retro follow-through (SPEC §9.2): implemented actions / actions whose next sprint has
    /// closed; null when none.
    async fn retro_follow_through(&self) -> Option<f64> {
        self.operating().retros.follow_through
    }

    /// Retro actions whose next sprint has closed.
    async fn retro_actions_judged(&self) -> i32 {
        int(self.operating().retros.judged)
    }

    /// Retro actions still open when their next sprint closed.
    async fn retro_actions_not_followed_through(&self) -> i32 {
        int(self.operating().retros.not_followed_through)
    }

    /// Median hours from an approval request to its decision (SPEC §9.3).
    async fn approval_wait_median_hours(&self) -> Option<f64> {
        self.operating().approvals.wait_median_hours
    }

    /// p90 (nearest rank) of the same.
    async fn approval_wait_p90_hours(&self) -> Option<f64> {
        self.operating().approvals.wait_p90_hours
    }

    /// Approvals decided after their deadline, or pending past it.
    async fn late_approvals(&self) -> i32 {
        int(self.operating().approvals.late)
    }

    /// DONE items of closed sprints that needed an approval / DONE items.
    async fn share_done_needing_approval(&self) -> Option<f64> {
        self.operating().approvals.share_done_needing_approval
    }

    /// Requests to shared services waiting now (SPEC §9.1).
    async fn service_requests_waiting(&self) -> i32 {
        int(self.operating().services.waiting)
    }

    /// Σ over the pod's requests of (closed-or-now − received), in days.
    async fn pod_days_waiting(&self) -> f64 {
        self.operating().services.pod_days_waiting
    }

    /// Requests breached and still waiting.
    async fn open_service_breaches(&self) -> i32 {
        int(self.operating().services.open_breaches.len())
    }

    /// Failure patterns of the health audit that fail now (SPEC §9.4).
    async fn failing_patterns(&self) -> i32 {
        int(self.operating().failing)
    }

    /// … that warn.
    async fn warning_patterns(&self) -> i32 {
        int(self.operating().warning)
    }
}

impl PodMetrics {
    fn operating(&self) -> &Operating {
        match &self.operating {
            OperatingSource::Scope(scope) => scope.operating(),
            OperatingSource::Ready(operating) => operating,
        }
    }
}
