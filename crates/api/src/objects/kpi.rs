//! A KPI of a pod: target, readings judged against it, and its performance-ownership ledger.

use std::sync::Arc;

use async_graphql::{ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use podledger_domain::kpi::{Direction as D, KpiStatus as S, ReportingCadence as C};
use podledger_projections::kpi_view::{Judged, KpiView};
use podledger_projections::org_view::OrgView;

use super::enums::{Direction, KpiStatus, ReportingCadence};
use super::ledger::{OwnershipChange, ledger_page};
use super::person::Person;
use crate::connection::{Page, PageArgs, page};
use crate::ids::to_id;

/// A reading judged against the target.
#[derive(SimpleObject, Clone, Debug)]
pub struct KpiReading {
    /// The observed value, in the KPI's `unit`.
    pub value: f64,
    /// When the value was observed (business time, as the integration reported it), not when it
    /// was recorded.
    pub observed_at: DateTime<Utc>,
    /// Where the value came from (e.g. `hubspot`), as its recorder said.
    pub source: Option<String>,
    /// value/target (INCREASE) or target/value (DECREASE); null when undefined.
    pub attainment: Option<f64>,
    /// Status; null when the attainment is.
    pub status: Option<KpiStatus>,
    /// Global position of the reading's event.
    pub position: String,
}

pub(crate) fn judged(j: Judged) -> KpiReading {
    KpiReading {
        value: j.reading.value,
        observed_at: j.reading.observed_at,
        position: j.reading.position.to_string(),
        source: j.reading.source,
        attainment: j.attainment,
        status: j.status.map(|s| match s {
            S::OnTrack => KpiStatus::OnTrack,
            S::AtRisk => KpiStatus::AtRisk,
            S::OffTrack => KpiStatus::OffTrack,
        }),
    }
}

/// A KPI's performance in one sprint (SPEC §6): the last reading observed while the sprint ran
/// (from `Sprint.startedAt` to `Sprint.closedAt`, or to now while it is active), judged against
/// the target, and how the value changed since the previous sprint's.
#[derive(SimpleObject, Clone, Debug)]
pub struct KpiSprintPerformance {
    /// The KPI.
    pub kpi: Kpi,
    /// The sprint.
    pub sprint: super::sprint::Sprint,
    /// The last reading of the sprint's window, judged; null when none was observed then.
    pub reading: Option<KpiReading>,
    /// That reading's attainment (value/target, or target/value for a DECREASE KPI).
    pub attainment: Option<f64>,
    /// That reading's status.
    pub status: Option<KpiStatus>,
    /// Its value minus the previous started sprint's; null when either has no reading.
    pub delta: Option<f64>,
}

/// The performance of `kpi` in every started sprint of `scope`'s pod, in plan order.
pub(crate) fn performance(
    kpi: &Kpi,
    scope: &Arc<super::scope::PodScope>,
) -> Vec<KpiSprintPerformance> {
    kpi.view
        .per_sprint(&scope.view, Utc::now())
        .into_iter()
        .filter_map(|p| {
            let reading = p.last.map(judged);
            Some(KpiSprintPerformance {
                kpi: kpi.clone(),
                sprint: super::sprint::Sprint::of(scope, p.sprint_id)?,
                attainment: reading.as_ref().and_then(|r| r.attainment),
                status: reading.as_ref().and_then(|r| r.status),
                reading,
                delta: p.delta,
            })
        })
        .collect()
}

/// A KPI of a pod.
#[derive(Clone, Debug)]
pub struct Kpi {
    view: Arc<KpiView>,
    org: Arc<OrgView>,
}

impl Kpi {
    /// A KPI read with its organisation's view (for its owner).
    pub fn new(view: Arc<KpiView>, org: Arc<OrgView>) -> Self {
        Self { view, org }
    }
}

#[Object]
impl Kpi {
    /// Performance in each started sprint of its pod, in plan order (SPEC §6).
    async fn sprints(
        &self,
        ctx: &async_graphql::Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Page<KpiSprintPerformance>> {
        let org = crate::context::principal(ctx)?.org.as_uuid();
        let performance = crate::context::live_scope(ctx, org, self.view.pod_id)
            .map(|scope| performance(self, &scope))
            .unwrap_or_default();
        Ok(crate::connection::page_of(
            performance,
            &PageArgs::new(after, before, first, last),
        )?)
    }

    /// Opaque global id.
    pub async fn id(&self) -> ID {
        to_id("Kpi", self.view.id.as_uuid())
    }

    /// The pod.
    async fn pod_id(&self) -> ID {
        to_id("Pod", self.view.pod_id.as_uuid())
    }

    /// Name.
    async fn name(&self) -> &str {
        &self.view.name
    }

    /// Unit of every value and of the target (e.g. `signups`, `%`, `EUR`).
    async fn unit(&self) -> &str {
        &self.view.unit
    }

    /// Direction.
    async fn direction(&self) -> Direction {
        match self.view.direction {
            D::Increase => Direction::Increase,
            D::Decrease => Direction::Decrease,
        }
    }

    /// Reporting cadence.
    async fn cadence(&self) -> ReportingCadence {
        match self.view.cadence {
            C::Daily => ReportingCadence::Daily,
            C::Weekly => ReportingCadence::Weekly,
            C::PerSprint => ReportingCadence::PerSprint,
            C::Monthly => ReportingCadence::Monthly,
        }
    }

    /// The value to reach (INCREASE) or stay under (DECREASE), in `unit`.
    async fn target(&self) -> f64 {
        self.view.target
    }

    /// Where the KPI stood before the pod took it on, in `unit`; null if not given.
    async fn baseline(&self) -> Option<f64> {
        self.view.baseline
    }

    /// Performance owner.
    async fn owner_id(&self) -> ID {
        to_id("Person", self.view.owner.as_uuid())
    }

    /// Performance owner.
    async fn owner(&self) -> Option<Person> {
        Person::of(&self.org, self.view.owner)
    }

    /// The reading with the latest business time.
    async fn latest(&self) -> Option<KpiReading> {
        self.view.latest().map(judged)
    }

    /// Every reading, in recording order.
    async fn readings(
        &self,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Page<KpiReading>> {
        let readings = &self.view.readings;
        Ok(page(
            readings.len(),
            &PageArgs::new(after, before, first, last),
            |i| judged(self.view.judge(&readings[i])),
        )?)
    }

    /// Performance-ownership history, oldest first.
    async fn ownership(
        &self,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Page<OwnershipChange>> {
        Ok(ledger_page(
            &self.org,
            &self.view.ledger,
            &PageArgs::new(after, before, first, last),
        )?)
    }

    /// The stream version after the last change: pass it as `options.expectedVersion` so a
    /// mutation is refused with CONCURRENCY_CONFLICT if someone changed it since you read it.
    async fn version(&self) -> String {
        self.view.version.to_string()
    }
}
