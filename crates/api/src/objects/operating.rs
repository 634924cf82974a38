//! The objects of SPEC §9 — shared services and their requests, retros, approvals, the health
//! audit — and the pod's figures for them. Each is built from the views of one point (a
//! `PodScope`, or the organisation's view) and judged at that point's time.

use std::sync::Arc;

use async_graphql::{ComplexObject, Enum, ID, SimpleObject};
use chrono::{DateTime, Utc};
use podledger_domain::ids::{ApprovalId, RetroActionId, ServiceRequestId, SharedServiceId};
use podledger_domain::org::{IntakeMethod as DIntake, ServiceFunction, SharedService as DService};
use podledger_domain::pod::{
    RetroActionKind as DKind, RetroOutcome, ServiceRequestStatus as DStatus,
};
use podledger_projections::health_audit::{Pattern, PatternAudit as DAudit, PatternStatus};
use podledger_projections::operating::{
    ApprovalStats, PodServiceStats, RetroStats, ServiceStats, approval_stats, pod_service_stats,
    retro_stats,
};
use podledger_projections::org_view::OrgView;

use super::person::Person;
use super::scope::PodScope;
use crate::ids::to_id;

fn int(n: impl TryInto<i32>) -> i32 {
    n.try_into().unwrap_or(i32::MAX)
}

/// A SPEC name of an enum the domain serialises (`LEGAL`, `OTHER(label)` …).
fn spec_name(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Object(map)) => map
            .into_iter()
            .next()
            .map(|(k, v)| format!("{k}({})", v.as_str().unwrap_or_default()))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

/// How a shared service takes requests in.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum IntakeMethod {
    /// A ticket.
    Ticket,
    /// A meeting.
    Meeting,
    /// An asynchronous form.
    AsyncForm,
}

impl From<DIntake> for IntakeMethod {
    fn from(m: DIntake) -> Self {
        match m {
            DIntake::Ticket => Self::Ticket,
            DIntake::Meeting => Self::Meeting,
            DIntake::AsyncForm => Self::AsyncForm,
        }
    }
}

impl From<IntakeMethod> for DIntake {
    fn from(m: IntakeMethod) -> Self {
        match m {
            IntakeMethod::Ticket => Self::Ticket,
            IntakeMethod::Meeting => Self::Meeting,
            IntakeMethod::AsyncForm => Self::AsyncForm,
        }
    }
}

/// When a service takes requests in (UTC).
#[derive(SimpleObject, Clone, Debug)]
pub struct RequestWindow {
    /// Weekdays it is open: 1 (Monday) to 7 (Sunday).
    pub days: Vec<i32>,
    /// Opening hour, 0–23.
    pub opens_at_hour: i32,
    /// Closing hour, 1–24.
    pub closes_at_hour: i32,
}

/// A shared service's service-level agreement (SPEC §9.1).
#[derive(SimpleObject, Clone, Debug)]
pub struct Sla {
    /// When requests are taken in; one opened outside it is received at its next opening.
    pub window: RequestWindow,
    /// Hours from receipt to the due time.
    pub turnaround_hours: i32,
    /// Who escalated requests go to.
    pub escalation_contact_id: ID,
    /// How requests are taken in.
    pub intake_method: IntakeMethod,
}

fn sla(s: &podledger_domain::org::Sla) -> Sla {
    Sla {
        window: RequestWindow {
            days: s.window.days.iter().map(|d| i32::from(*d)).collect(),
            opens_at_hour: i32::from(s.window.opens_at_hour),
            closes_at_hour: i32::from(s.window.closes_at_hour),
        },
        turnaround_hours: int(s.turnaround_hours),
        escalation_contact_id: to_id("Person", s.escalation_contact.as_uuid()),
        intake_method: s.intake.into(),
    }
}

/// A shared service's figures over every pod's requests (SPEC §9.1), at the query's point.
#[derive(SimpleObject, Clone, Debug, Default)]
pub struct ServiceMetrics {
    /// Requests received.
    pub requests: i32,
    /// Delivered.
    pub delivered: i32,
    /// Breached: not delivered or rejected by their due time.
    pub breached: i32,
    /// Delivered by due / (delivered or breached); null when none.
    pub sla_attainment: Option<f64>,
    /// Median hours from receipt to delivery.
    pub turnaround_median_hours: Option<f64>,
    /// p90 (nearest rank) hours from receipt to delivery.
    pub turnaround_p90_hours: Option<f64>,
    /// Breached requests still waiting.
    pub open_breaches: i32,
    /// Requests waiting (open or accepted).
    pub waiting: i32,
}

impl From<&ServiceStats> for ServiceMetrics {
    fn from(s: &ServiceStats) -> Self {
        Self {
            requests: int(s.requests),
            delivered: int(s.delivered),
            breached: int(s.breached),
            sla_attainment: s.sla_attainment,
            turnaround_median_hours: s.turnaround_median_hours,
            turnaround_p90_hours: s.turnaround_p90_hours,
            open_breaches: int(s.open_breaches),
            waiting: int(s.waiting),
        }
    }
}

/// A shared service: a centralised function pods send requests to, with an SLA.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(complex)]
pub struct SharedService {
    /// Opaque global id.
    #[graphql(owned)]
    pub id: ID,
    /// Name.
    pub name: String,
    /// What it does: `LEGAL`, `BRAND_COMPLIANCE`, `DEV`, `ANALYTICS` or `OTHER(label)`.
    pub function: String,
    /// Its SLA now (each request keeps the one it was received under).
    pub sla: Sla,
    /// Its operators' ids.
    pub operator_ids: Vec<ID>,
    /// Its figures at the query's point.
    pub metrics: ServiceMetrics,
    #[graphql(skip)]
    org: Arc<OrgView>,
    #[graphql(skip)]
    operators_of: Vec<podledger_domain::ids::PersonId>,
}

#[ComplexObject]
impl SharedService {
    /// Its operators.
    async fn operators(&self) -> Vec<Person> {
        self.operators_of
            .iter()
            .filter_map(|p| Person::of(&self.org, *p))
            .collect()
    }
}

/// The service `id` of `org` with its figures.
pub fn shared_service(
    org: &Arc<OrgView>,
    id: SharedServiceId,
    s: &DService,
    stats: Option<&ServiceStats>,
) -> SharedService {
    SharedService {
        id: to_id("SharedService", id.as_uuid()),
        name: s.name.clone(),
        function: match &s.function {
            ServiceFunction::Other(label) => format!("OTHER({label})"),
            other => spec_name(other),
        },
        sla: sla(&s.sla),
        operator_ids: s
            .operators
            .iter()
            .map(|p| to_id("Person", p.as_uuid()))
            .collect(),
        metrics: stats.map(ServiceMetrics::from).unwrap_or_default(),
        org: org.clone(),
        operators_of: s.operators.iter().copied().collect(),
    }
}

/// Shared service `id` of the organisation as the live views have it now, with its figures
/// over every pod's requests (`None` when the organisation has no such service).
pub fn live_shared_service(
    ctx: &async_graphql::Context<'_>,
    org: uuid::Uuid,
    id: SharedServiceId,
) -> Option<SharedService> {
    let view = crate::context::state(ctx).projections.org(org)?;
    let record = view.state.services.get(&id)?;
    let scopes: Vec<_> = view
        .state
        .pods
        .keys()
        .filter_map(|pod| crate::context::live_scope(ctx, org, *pod))
        .collect();
    let stats = podledger_projections::operating::service_stats(
        scopes.iter().map(|s| (s.id, s.view.as_ref())),
        chrono::Utc::now(),
    );
    Some(shared_service(&view, id, record, stats.get(&id)))
}

/// Where a request to a shared service stands.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum ServiceRequestStatus {
    /// Waiting for an operator.
    Open,
    /// Taken on by an operator.
    Accepted,
    /// Delivered.
    Delivered,
    /// Rejected by an operator.
    Rejected,
    /// Withdrawn by the requester.
    Cancelled,
}

impl From<DStatus> for ServiceRequestStatus {
    fn from(s: DStatus) -> Self {
        match s {
            DStatus::Open => Self::Open,
            DStatus::Accepted => Self::Accepted,
            DStatus::Delivered => Self::Delivered,
            DStatus::Rejected => Self::Rejected,
            DStatus::Cancelled => Self::Cancelled,
        }
    }
}

/// A pod's request to a shared service (SPEC §9.1).
#[derive(SimpleObject, Clone, Debug)]
pub struct ServiceRequest {
    /// Opaque global id.
    #[graphql(owned)]
    pub id: ID,
    /// The pod that asked.
    pub pod_id: ID,
    /// The service.
    pub shared_service_id: ID,
    /// The item it is about, if any.
    pub item_id: Option<ID>,
    /// What is asked for.
    pub title: String,
    /// Context.
    pub description: Option<String>,
    /// Where it stands.
    pub status: ServiceRequestStatus,
    /// Who opened it.
    pub requested_by_id: ID,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// When the service received it: then, or its window's next opening.
    pub received_at: DateTime<Utc>,
    /// Received + the SLA's turnaround.
    pub due_at: DateTime<Utc>,
    /// When an operator took it on.
    pub accepted_at: Option<DateTime<Utc>>,
    /// When it was delivered, rejected or cancelled.
    pub closed_at: Option<DateTime<Utc>>,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
    /// Who it was escalated to, if it was.
    pub escalated_to_id: Option<ID>,
    /// Not delivered or rejected by its due time, at the query's point.
    pub breached: bool,
}

/// The request `id` of the scope's pod.
pub fn service_request(scope: &PodScope, id: ServiceRequestId) -> Option<ServiceRequest> {
    let r = scope.view.state.service_requests.get(&id)?;
    let history = scope
        .view
        .service_requests
        .iter()
        .rev()
        .find(|h| h.id == id)?;
    Some(ServiceRequest {
        id: to_id("ServiceRequest", id.as_uuid()),
        pod_id: to_id("Pod", scope.id.as_uuid()),
        shared_service_id: to_id("SharedService", r.service.as_uuid()),
        item_id: r.item.map(|i| to_id("Item", i.as_uuid())),
        title: history.title.clone(),
        description: history.description.clone(),
        status: r.status.into(),
        requested_by_id: to_id("Person", r.requested_by.as_uuid()),
        opened_at: history.opened_at,
        received_at: r.received_at,
        due_at: r.due_at,
        accepted_at: history.accepted_at,
        closed_at: r.closed_at,
        rejection_reason: history.rejection.clone(),
        escalated_to_id: history
            .escalation
            .as_ref()
            .map(|(p, _)| to_id("Person", p.as_uuid())),
        breached: r.breached_at(scope.now()),
    })
}

/// What a retro action changes.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum RetroActionKind {
    /// A tool to add, fix or drop.
    Tooling,
    /// How work passes between people.
    Handoff,
    /// Who decides or does what.
    RoleClarity,
    /// A rule applied before the next sprint starts.
    PreSprintRule,
    /// Anything else.
    Other,
}

impl From<DKind> for RetroActionKind {
    fn from(k: DKind) -> Self {
        match k {
            DKind::Tooling => Self::Tooling,
            DKind::Handoff => Self::Handoff,
            DKind::RoleClarity => Self::RoleClarity,
            DKind::PreSprintRule => Self::PreSprintRule,
            DKind::Other => Self::Other,
        }
    }
}

impl From<RetroActionKind> for DKind {
    fn from(k: RetroActionKind) -> Self {
        match k {
            RetroActionKind::Tooling => Self::Tooling,
            RetroActionKind::Handoff => Self::Handoff,
            RetroActionKind::RoleClarity => Self::RoleClarity,
            RetroActionKind::PreSprintRule => Self::PreSprintRule,
            RetroActionKind::Other => Self::Other,
        }
    }
}

/// How a retro action stands.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum RetroActionStatus {
    /// Not marked yet.
    Open,
    /// The change was made.
    Implemented,
    /// The change was given up (`dropReason` says why).
    Dropped,
    /// Still open when the next sprint closed.
    NotFollowedThrough,
}

/// A retro action item: one specific change, with an owner.
#[derive(SimpleObject, Clone, Debug)]
pub struct RetroAction {
    /// Opaque global id.
    #[graphql(owned)]
    pub id: ID,
    /// The change.
    pub description: String,
    /// What it changes.
    pub kind: RetroActionKind,
    /// Who sees it through.
    pub owner_id: ID,
    /// How it stands at the query's point.
    pub status: RetroActionStatus,
    /// Why it was dropped.
    pub drop_reason: Option<String>,
    /// When it was marked.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// The action `id` of the scope's pod.
pub fn retro_action(scope: &PodScope, id: RetroActionId) -> Option<RetroAction> {
    let a = scope.view.state.retro_actions.get(&id)?;
    let history = scope.view.retro_actions.get(&id)?;
    let next_closed = scope
        .view
        .state
        .next_sprint(a.sprint)
        .is_some_and(|(_, s)| s.status == podledger_domain::pod::SprintStatus::Closed);
    let (status, drop_reason) = match &a.outcome {
        Some(RetroOutcome::Implemented) => (RetroActionStatus::Implemented, None),
        Some(RetroOutcome::Dropped(reason)) => (RetroActionStatus::Dropped, Some(reason.clone())),
        None if next_closed => (RetroActionStatus::NotFollowedThrough, None),
        None => (RetroActionStatus::Open, None),
    };
    Some(RetroAction {
        id: to_id("RetroAction", id.as_uuid()),
        description: history.description.clone(),
        kind: a.kind.into(),
        owner_id: to_id("Person", a.owner.as_uuid()),
        status,
        drop_reason,
        resolved_at: history.resolved_at,
    })
}

/// A sprint's retro (SPEC §9.2).
#[derive(SimpleObject, Clone, Debug)]
pub struct Retro {
    /// The sprint.
    pub sprint_id: ID,
    /// What went well.
    pub went_well: String,
    /// The friction found.
    pub friction: String,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
    /// Its one or two actions.
    pub actions: Vec<RetroAction>,
}

/// The retro of `sprint` in the scope's pod.
pub fn retro(scope: &PodScope, sprint: podledger_domain::ids::SprintId) -> Option<Retro> {
    let r = scope.view.state.retros.get(&sprint)?;
    let history = scope.view.retros.iter().find(|h| h.sprint == sprint)?;
    Some(Retro {
        sprint_id: to_id("Sprint", sprint.as_uuid()),
        went_well: history.went_well.clone(),
        friction: history.friction.clone(),
        recorded_at: r.recorded_at,
        actions: r
            .actions
            .iter()
            .filter_map(|a| retro_action(scope, *a))
            .collect(),
    })
}

/// A request for an item's approval (SPEC §9.3).
#[derive(SimpleObject, Clone, Debug)]
pub struct Approval {
    /// Opaque global id.
    #[graphql(owned)]
    pub id: ID,
    /// The item.
    pub item_id: ID,
    /// Who approves.
    pub approver_id: ID,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
    /// When a decision becomes late.
    pub due_at: DateTime<Utc>,
    /// When it was decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// Approved (true), rejected (false), or pending (null).
    pub approved: Option<bool>,
    /// The approver's reason.
    pub reason: Option<String>,
    /// Decided after its deadline, or still pending past it at the query's point.
    pub late: bool,
}

/// The approval `id` of the scope's pod.
pub fn approval(scope: &PodScope, id: ApprovalId) -> Option<Approval> {
    let a = scope.view.state.approvals.get(&id)?;
    let history = scope.view.approvals.iter().rev().find(|h| h.id == id)?;
    let late = match &a.decision {
        Some(d) => d.at > a.due_at,
        None => scope.now() > a.due_at,
    };
    Some(Approval {
        id: to_id("Approval", id.as_uuid()),
        item_id: to_id("Item", a.item.as_uuid()),
        approver_id: to_id("Person", a.approver.as_uuid()),
        requested_at: a.requested_at,
        due_at: a.due_at,
        decided_at: a.decision.as_ref().map(|d| d.at),
        approved: a.decision.as_ref().map(|d| d.approved),
        reason: history.reason.clone(),
        late,
    })
}

/// Approvals of a sprint (SPEC §9.3).
#[derive(SimpleObject, Clone, Debug)]
pub struct ApprovalMetrics {
    /// Requests asked for while the sprint ran.
    pub requested: i32,
    /// Of those, decided.
    pub decided: i32,
    /// Median hours from request to decision.
    pub wait_median_hours: Option<f64>,
    /// p90 (nearest rank) hours from request to decision.
    pub wait_p90_hours: Option<f64>,
    /// Decided after the deadline, or pending past it.
    pub late: i32,
    /// DONE items that needed an approval / DONE items; null without DONE items.
    pub share_done_needing_approval: Option<f64>,
}

impl From<&ApprovalStats> for ApprovalMetrics {
    fn from(s: &ApprovalStats) -> Self {
        Self {
            requested: int(s.requested),
            decided: int(s.decided),
            wait_median_hours: s.wait_median_hours,
            wait_p90_hours: s.wait_p90_hours,
            late: int(s.late),
            share_done_needing_approval: s.share_done_needing_approval,
        }
    }
}

/// An output category that needs approval before its items are DONE.
#[derive(SimpleObject, Clone, Debug)]
pub struct ApprovalRule {
    /// The output category (lower case).
    pub output_category: String,
    /// Who approves.
    pub approver_id: ID,
    /// Hours before a decision is late.
    pub deadline_hours: i32,
}

/// The organisation's approval rules, by category.
pub fn approval_rules(org: &OrgView) -> Vec<ApprovalRule> {
    org.state
        .approval_rules
        .iter()
        .map(|(category, rule)| ApprovalRule {
            output_category: category.clone(),
            approver_id: to_id("Person", rule.approver.as_uuid()),
            deadline_hours: int(rule.deadline_hours),
        })
        .collect()
}

/// One of the seed's five structural failure patterns (SPEC §9.4).
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum FailurePattern {
    /// A capability is missing, or work waits on others.
    IncompleteTeam,
    /// One person owns items of too many output categories.
    OverloadedRole,
    /// Approvals are late, or needed for most DONE items.
    CentralizedControl,
    /// Rituals without the mechanics under them.
    CosmeticRituals,
    /// Few capabilities, or one person owning every goal item.
    SpecialistSilos,
}

/// How a pattern stands.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum PatternStatusKind {
    /// Not present.
    Ok,
    /// Signs of it.
    Warn,
    /// Present.
    Fail,
}

/// A number behind a pattern's status, named.
#[derive(SimpleObject, Clone, Debug)]
pub struct NamedNumber {
    /// What it counts or measures (`shareWaitingOnOthers`, `outputCategories` …).
    pub name: String,
    /// Its value.
    pub value: f64,
}

/// What a pattern's status rests on.
#[derive(SimpleObject, Clone, Debug)]
pub struct PatternEvidence {
    /// The sprint judged (the pod's last closed one).
    pub sprint_id: Option<ID>,
    /// Items involved.
    pub item_ids: Vec<ID>,
    /// People involved.
    pub person_ids: Vec<ID>,
    /// Blockers involved.
    pub blocker_ids: Vec<ID>,
    /// Capabilities: the missing ones (`INCOMPLETE_TEAM`) or the covered ones
    /// (`SPECIALIST_SILOS`).
    pub capabilities: Vec<String>,
    /// The numbers behind the status.
    pub numbers: Vec<NamedNumber>,
    /// What was seen, in words.
    pub signals: Vec<String>,
}

/// One pattern of a pod's health audit.
#[derive(SimpleObject, Clone, Debug)]
pub struct PatternAudit {
    /// The pattern.
    pub pattern: FailurePattern,
    /// How it stands.
    pub status: PatternStatusKind,
    /// What the status rests on.
    pub evidence: PatternEvidence,
    /// The seed's remedy, in one sentence.
    pub remedy: String,
}

/// A pattern audit as the schema shows it.
pub fn pattern_audit(a: &DAudit) -> PatternAudit {
    let e = &a.evidence;
    PatternAudit {
        pattern: match a.pattern {
            Pattern::IncompleteTeam => FailurePattern::IncompleteTeam,
            Pattern::OverloadedRole => FailurePattern::OverloadedRole,
            Pattern::CentralizedControl => FailurePattern::CentralizedControl,
            Pattern::CosmeticRituals => FailurePattern::CosmeticRituals,
            Pattern::SpecialistSilos => FailurePattern::SpecialistSilos,
        },
        status: match a.status {
            PatternStatus::Ok => PatternStatusKind::Ok,
            PatternStatus::Warn => PatternStatusKind::Warn,
            PatternStatus::Fail => PatternStatusKind::Fail,
        },
        evidence: PatternEvidence {
            sprint_id: e.sprint.map(|s| to_id("Sprint", s.as_uuid())),
            item_ids: e.items.iter().map(|i| to_id("Item", i.as_uuid())).collect(),
            person_ids: e
                .people
                .iter()
                .map(|p| to_id("Person", p.as_uuid()))
                .collect(),
            blocker_ids: e
                .blockers
                .iter()
                .map(|b| to_id("Blocker", b.as_uuid()))
                .collect(),
            capabilities: e.capabilities.iter().map(spec_name).collect(),
            numbers: e
                .numbers
                .iter()
                .map(|(name, value)| NamedNumber {
                    name: name.clone(),
                    value: *value,
                })
                .collect(),
            signals: e.signals.clone(),
        },
        remedy: a.remedy.to_owned(),
    }
}

/// A pod's figures for SPEC §9 at the query's point (they join `PodMetrics`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Operating {
    /// Retro follow-through.
    pub retros: RetroStats,
    /// Approvals of the whole history.
    pub approvals: ApprovalStats,
    /// Requests to shared services.
    pub services: PodServiceStats,
    /// How many patterns fail and warn.
    pub failing: u32,
    /// Warnings.
    pub warning: u32,
}

impl Operating {
    /// The figures of the scope's pod at its time.
    pub fn of(scope: &PodScope) -> Self {
        let now = scope.now();
        let audit =
            podledger_projections::health_audit::audit(&scope.org, scope.id, &scope.view, now);
        let count = |status| audit.iter().filter(|a| a.status == status).count() as u32;
        Self {
            retros: retro_stats(&scope.view),
            approvals: approval_stats(&scope.view, None, now),
            services: pod_service_stats(&scope.view, now),
            failing: count(PatternStatus::Fail),
            warning: count(PatternStatus::Warn),
        }
    }
}

/// A pod in the organisation's health audit.
#[derive(SimpleObject, Clone, Debug)]
pub struct PodAudit {
    /// The pod.
    pub pod_id: ID,
    /// Its name.
    pub pod_name: String,
    /// Patterns that fail.
    pub failing: i32,
    /// Patterns that warn.
    pub warning: i32,
    /// Its five patterns.
    pub patterns: Vec<PatternAudit>,
}
