//! A pod: members and roles, backlog in rank order, the current sprint board, sprint history,
//! metrics, blockers, KPIs and the backlog-ownership ledger.

use std::sync::Arc;

use async_graphql::{Context, ID, Object};
use podledger_domain::roles::PodFocus;

use super::blocker::{Blocker, blocker};
use super::intake::{IntakeRequest, intake_request};
use super::kpi::Kpi;
use super::ledger::{OwnershipChange, ledger_page};
use super::metrics::PodMetrics;
use super::person::Person;
use super::scope::PodScope;
use super::sprint::Sprint;
use crate::connection::{Page, PageArgs, page, page_of};
use crate::ids::{from_id, to_id};

/// A pod.
#[derive(Clone, Debug)]
pub struct Pod {
    scope: Arc<PodScope>,
}

impl Pod {
    /// The pod of a scope.
    pub fn new(scope: Arc<PodScope>) -> Self {
        Self { scope }
    }
}

/// A focus as SPEC names it (`ACQUISITION`…) or its custom label.
pub fn focus_name(focus: &PodFocus) -> String {
    match focus {
        PodFocus::Custom(label) => label.clone(),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
    }
}

#[Object]
impl Pod {
    /// Opaque global id.
    pub async fn id(&self) -> ID {
        to_id("Pod", self.scope.id.as_uuid())
    }

    /// Name.
    async fn name(&self) -> &str {
        &self.scope.summary().name
    }

    /// Focus (ACQUISITION… or a custom label).
    async fn focus(&self) -> String {
        focus_name(&self.scope.summary().focus)
    }

    /// Product owner.
    async fn product_owner_id(&self) -> Option<ID> {
        self.scope
            .summary()
            .product_owner
            .map(|p| to_id("Person", p.as_uuid()))
    }

    /// Product owner.
    async fn product_owner(&self) -> Option<Person> {
        Person::of(&self.scope.org, self.scope.summary().product_owner?)
    }

    /// Scrum master.
    async fn scrum_master_id(&self) -> Option<ID> {
        self.scope
            .summary()
            .scrum_master
            .map(|p| to_id("Person", p.as_uuid()))
    }

    /// Scrum master.
    async fn scrum_master(&self) -> Option<Person> {
        Person::of(&self.scope.org, self.scope.summary().scrum_master?)
    }

    /// Everyone holding a role in the pod.
    async fn members(
        &self,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Page<Person>> {
        let members: Vec<Person> = self
            .scope
            .summary()
            .members
            .iter()
            .filter_map(|m| Person::of(&self.scope.org, *m))
            .collect();
        Ok(page_of(
            members,
            &PageArgs::new(after, before, first, last),
        )?)
    }

    /// Open items in rank order.
    async fn backlog(
        &self,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Page<super::Item>> {
        // Only the page's items are built: the backlog holds every open item, and a page of 20
        // must not cost the whole backlog (the mixed-load bench: 33 % of the server's time).
        let backlog = &self.scope.view.state.backlog;
        Ok(page(
            backlog.len(),
            &PageArgs::new(after, before, first, last),
            |i| super::Item::listed(&self.scope, backlog[i]),
        )?)
    }

    /// The active sprint, or else the next planned one: the sprint board.
    async fn current_sprint(&self) -> Option<Sprint> {
        let current = self.scope.view.current_sprint()?.id;
        Sprint::of(&self.scope, current)
    }

    /// One sprint of the pod.
    async fn sprint(&self, id: ID) -> async_graphql::Result<Option<Sprint>> {
        let id = podledger_domain::ids::SprintId(from_id("Sprint", &id, "id")?);
        Ok(Sprint::of(&self.scope, id))
    }

    /// Every sprint, in plan order (sprint history with metrics).
    async fn sprints(
        &self,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Page<Sprint>> {
        Ok(page(
            self.scope.view.sprints.len(),
            &PageArgs::new(after, before, first, last),
            |i| Sprint::at(&self.scope, i),
        )?)
    }

    /// Pod metrics (SPEC §6) over its closed sprints, and blocker statistics.
    async fn metrics(&self) -> PodMetrics {
        PodMetrics::new(
            self.scope.metrics(),
            super::metrics::OperatingSource::Scope(self.scope.clone()),
        )
    }

    /// Backlog-ownership (product owner) history, oldest first.
    async fn ownership(
        &self,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Page<OwnershipChange>> {
        Ok(ledger_page(
            &self.scope.org,
            self.scope.org.ledger(self.scope.id),
            &PageArgs::new(after, before, first, last),
        )?)
    }

    /// Blockers, in raise order.
    async fn blockers(
        &self,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Page<Blocker>> {
        let view = &self.scope.view;
        Ok(page(
            view.blockers.len(),
            &PageArgs::new(after, before, first, last),
            |i| blocker(view.blocker_at(i).expect("every blocker has its state")),
        )?)
    }

    /// Requests submitted to the pod's intake, in submission order (`status` filters).
    async fn intake(
        &self,
        status: Option<super::IntakeStatus>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Page<IntakeRequest>> {
        let requests = self
            .scope
            .view
            .intake()
            .map(|r| intake_request(&self.scope, r))
            .filter(|r| status.is_none_or(|s| r.status == s))
            .collect();
        Ok(page_of(
            requests,
            &PageArgs::new(after, before, first, last),
        )?)
    }

    /// KPIs with their readings and attainment, by name.
    async fn kpis(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Page<Kpi>> {
        let views = self.scope.kpi_views(ctx).await?;
        let kpis = views
            .into_iter()
            .map(|k| Kpi::new(k, self.scope.org.clone()))
            .collect();
        Ok(page_of(kpis, &PageArgs::new(after, before, first, last))?)
    }

    /// The health audit (SPEC §9.4): the seed's five failure patterns, each OK, WARN or FAIL
    /// with its evidence and remedy, over the last closed sprint — now, or as of the query's
    /// `asOf` point.
    async fn health_audit(&self) -> Vec<super::PatternAudit> {
        podledger_projections::health_audit::audit(
            &self.scope.org,
            self.scope.id,
            &self.scope.view,
            self.scope.now(),
        )
        .iter()
        .map(super::operating::pattern_audit)
        .collect()
    }

    /// Retros, in the order recorded (SPEC §9.2).
    async fn retros(
        &self,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Page<super::Retro>> {
        let retros = self
            .scope
            .view
            .retros
            .iter()
            .filter_map(|r| super::operating::retro(&self.scope, r.sprint))
            .collect();
        Ok(page_of(retros, &PageArgs::new(after, before, first, last))?)
    }

    /// Approval requests, in the order asked (SPEC §9.3).
    async fn approvals(
        &self,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Page<super::Approval>> {
        let approvals = self
            .scope
            .view
            .approvals
            .iter()
            .filter_map(|a| super::operating::approval(&self.scope, a.id))
            .collect();
        Ok(page_of(
            approvals,
            &PageArgs::new(after, before, first, last),
        )?)
    }

    /// Requests to shared services, in the order opened (`status` filters; SPEC §9.1).
    async fn service_requests(
        &self,
        status: Option<super::operating::ServiceRequestStatus>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> async_graphql::Result<Page<super::ServiceRequest>> {
        let requests = self
            .scope
            .view
            .service_requests
            .iter()
            .filter_map(|r| super::operating::service_request(&self.scope, r.id))
            .filter(|r| status.is_none_or(|s| r.status == s))
            .collect();
        Ok(page_of(
            requests,
            &PageArgs::new(after, before, first, last),
        )?)
    }

    /// The stream version after the last change: pass it as `options.expectedVersion` so a
    /// mutation is refused with CONCURRENCY_CONFLICT if someone changed it since you read it.
    async fn version(&self) -> String {
        self.scope.view.version().to_string()
    }
}
