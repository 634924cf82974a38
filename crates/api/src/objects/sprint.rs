//! A sprint of a pod: its board (items, owners, status, goal items) and its metrics.

use std::sync::Arc;

use async_graphql::{ID, Object};
use chrono::{DateTime, NaiveDate, Utc};
use podledger_domain::ids::{ItemId, SprintId};
use podledger_domain::pod::SprintStatus as DSprintStatus;
use podledger_projections::pod_view::SprintView;

use super::enums::SprintStatus;
use super::item::Item;
use super::metrics::SprintMetrics;
use super::scope::PodScope;
use crate::connection::{Page, PageArgs, page_of};
use crate::ids::to_id;

/// A sprint.
#[derive(Clone, Debug)]
pub struct Sprint {
    scope: Arc<PodScope>,
    index: usize,
}

impl Sprint {
    /// Sprint `id` of the scope's pod, if it has it.
    pub fn of(scope: &Arc<PodScope>, id: SprintId) -> Option<Self> {
        let index = scope.view.sprint_index(id)?;
        Some(Self::at(scope, index))
    }

    /// The sprint at `index` in plan order.
    pub fn at(scope: &Arc<PodScope>, index: usize) -> Self {
        Self {
            scope: scope.clone(),
            index,
        }
    }

    pub(crate) fn view(&self) -> SprintView<'_> {
        self.scope
            .view
            .sprint_at(self.index)
            .expect("a Sprint is made only for a sprint of its scope")
    }

    /// The items on the board: those in the sprint now, or for a closed sprint those it ended
    /// with.
    fn item_ids(&self) -> Vec<ItemId> {
        let view = self.view();
        match &view.history.closing {
            Some(c) => c.done.iter().chain(&c.not_done).map(|(i, _)| *i).collect(),
            None => view.items.clone(),
        }
    }
}

#[Object]
impl Sprint {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        to_id("Sprint", self.view().id.as_uuid())
    }

    /// Number within the pod.
    async fn number(&self) -> i32 {
        i32::try_from(self.view().number).unwrap_or(i32::MAX)
    }

    /// Status.
    async fn status(&self) -> SprintStatus {
        match self.view().status {
            DSprintStatus::Planned => SprintStatus::Planned,
            DSprintStatus::Active => SprintStatus::Active,
            DSprintStatus::Closed => SprintStatus::Closed,
        }
    }

    /// First day.
    async fn start_date(&self) -> NaiveDate {
        self.view().start_date
    }

    /// Last day (inclusive).
    async fn end_date(&self) -> NaiveDate {
        self.view().end_date
    }

    /// When it started (t0 of SPEC §6: its commitment and every metric's window open here);
    /// null while planned.
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.view().started_at
    }

    /// When it closed (t1 of SPEC §6); null until then.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.view().closed_at
    }

    /// Each KPI of the pod and how it performed in this sprint (SPEC §6); empty while planned.
    async fn kpis(
        &self,
        ctx: &async_graphql::Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Page<super::kpi::KpiSprintPerformance>> {
        let views = self.scope.kpi_views(ctx).await?;
        let id = self.view().id;
        let performance: Vec<_> = views
            .into_iter()
            .map(|k| super::kpi::Kpi::new(k, self.scope.org.clone()))
            .filter_map(|kpi| {
                super::kpi::performance(&kpi, &self.scope)
                    .into_iter()
                    .find(|p| p.sprint.view().id == id)
            })
            .collect();
        Ok(page_of(
            performance,
            &PageArgs::new(after, before, first, last),
        )?)
    }

    /// Goal.
    async fn goal(&self) -> Option<&str> {
        self.view().record.goal.as_deref()
    }

    /// Goal items.
    async fn goal_item_ids(&self) -> Vec<ID> {
        self.view()
            .goal_items
            .iter()
            .map(|i| to_id("Item", i.as_uuid()))
            .collect()
    }

    /// The board: items in the sprint now (for a closed sprint: those it ended with).
    async fn items(
        &self,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Page<Item>> {
        let items: Vec<Item> = self
            .item_ids()
            .into_iter()
            .filter_map(|id| Item::of(&self.scope, id))
            .collect();
        Ok(page_of(items, &PageArgs::new(after, before, first, last))?)
    }

    /// The burndown (SPEC §6): remaining and scope points at the end of each day from the
    /// start date to the earlier of the end date and today — as of the query's `asOf` point
    /// when it has one — with the ideal line and the scope changes after the start.
    async fn burndown(&self) -> super::Burndown {
        super::burndown::burndown(&self.scope.view, self.view(), self.scope.now().date_naive())
    }

    /// The retro recorded for the sprint (SPEC §9.2), if any.
    async fn retro(&self) -> Option<super::Retro> {
        super::operating::retro(&self.scope, self.view().id)
    }

    /// Approvals asked for while the sprint ran, and the share of its DONE items that needed
    /// one (SPEC §9.3).
    async fn approval_metrics(&self) -> super::operating::ApprovalMetrics {
        let stats = podledger_projections::operating::approval_stats(
            &self.scope.view,
            Some(self.view().id),
            self.scope.now(),
        );
        super::operating::ApprovalMetrics::from(&stats)
    }

    /// Metrics (SPEC §6).
    async fn metrics(&self) -> SprintMetrics {
        (&*self.scope.sprint_metrics(self.index)).into()
    }

    /// The stream version after the last change: pass it as `options.expectedVersion` so a
    /// mutation is refused with CONCURRENCY_CONFLICT if someone changed it since you read it.
    async fn version(&self) -> String {
        self.view().version.to_string()
    }
}
