//! GraphQL output types, built from the projections' views. Enums mirror the domain's (the
//! domain knows nothing of GraphQL).

use async_graphql::{Enum, ID, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use podledger_domain::ids::{PersonId, PodId};
use podledger_domain::pod::{ItemStatus as DItemStatus, SprintStatus as DSprintStatus};
use podledger_domain::roles::{OrgRole as DOrgRole, PodFocus, PodRole};
use podledger_projections::ledger::{LedgerChange, LedgerEntry};
use podledger_projections::metrics::{SprintMetrics as MSprint, pod_metrics, sprint_metrics};
use podledger_projections::org_view::OrgView;
use podledger_projections::pod_view::{ItemView, PodView, SprintView};

use crate::ids::to_id;

/// Status of a backlog item; READY is derived (SPEC §2).
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum ItemStatus {
    /// In the backlog, not ready.
    New,
    /// Acceptance criteria, estimate and an accepted owner in the pod.
    Ready,
    /// In a sprint, not started.
    Committed,
    /// Started.
    InProgress,
    /// Awaiting review.
    InReview,
    /// Finished.
    Done,
    /// Dropped.
    Dropped,
}

/// Status of a sprint.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum SprintStatus {
    /// Not started.
    Planned,
    /// Running.
    Active,
    /// Finished.
    Closed,
}

/// An organisation-level role.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum OrgRole {
    /// Set-up.
    OrgAdmin,
    /// Oversight.
    VpMarketing,
    /// Oversight.
    HeadOfStrategy,
    /// Intake and reading.
    Stakeholder,
}

impl From<DOrgRole> for OrgRole {
    fn from(r: DOrgRole) -> Self {
        match r {
            DOrgRole::OrgAdmin => Self::OrgAdmin,
            DOrgRole::VpMarketing => Self::VpMarketing,
            DOrgRole::HeadOfStrategy => Self::HeadOfStrategy,
            DOrgRole::Stakeholder => Self::Stakeholder,
        }
    }
}

impl From<OrgRole> for DOrgRole {
    fn from(r: OrgRole) -> Self {
        match r {
            OrgRole::OrgAdmin => Self::OrgAdmin,
            OrgRole::VpMarketing => Self::VpMarketing,
            OrgRole::HeadOfStrategy => Self::HeadOfStrategy,
            OrgRole::Stakeholder => Self::Stakeholder,
        }
    }
}

/// A person.
#[derive(SimpleObject, Clone, Debug)]
pub struct Person {
    /// Opaque id.
    pub id: ID,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: Option<String>,
    /// Org-level roles.
    pub org_roles: Vec<OrgRole>,
    /// Pod, if a member.
    pub pod_id: Option<ID>,
    /// Roles in that pod, as SPEC names them (`PRODUCT_OWNER`, `DESIGNER`, `OTHER(label)`…).
    pub pod_roles: Vec<String>,
}

fn role_name(role: &PodRole) -> String {
    match role {
        PodRole::Other(label) => format!("OTHER({label})"),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
    }
}

fn focus_name(focus: &PodFocus) -> String {
    match focus {
        PodFocus::Custom(label) => label.clone(),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
    }
}

/// One line of an ownership ledger.
#[derive(SimpleObject, Clone, Debug)]
pub struct OwnershipChange {
    /// DECLARED, ACCEPTED, DECLINED, ASSIGNED or REMOVED.
    pub kind: String,
    /// The person the change is about.
    pub person_id: ID,
    /// Who did it (`member:<uuid>`).
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The request.
    pub correlation_id: String,
    /// Global position of the event.
    pub position: String,
}

fn ledger(entries: &[LedgerEntry]) -> Vec<OwnershipChange> {
    entries
        .iter()
        .map(|e| {
            let (kind, person) = match &e.change {
                LedgerChange::Declared { person, .. } => ("DECLARED", person),
                LedgerChange::Accepted { person, .. } => ("ACCEPTED", person),
                LedgerChange::Declined { person, .. } => ("DECLINED", person),
                LedgerChange::Assigned { person, .. } => ("ASSIGNED", person),
                LedgerChange::Removed { person } => ("REMOVED", person),
            };
            OwnershipChange {
                kind: kind.into(),
                person_id: to_id("Person", person.as_uuid()),
                actor: e.actor.clone(),
                at: e.at,
                correlation_id: e.correlation_id.to_string(),
                position: e.position.to_string(),
            }
        })
        .collect()
}

/// A backlog item.
#[derive(SimpleObject, Clone, Debug)]
pub struct Item {
    /// Opaque id.
    pub id: ID,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Output category.
    pub output_category: String,
    /// Acceptance criteria.
    pub acceptance_criteria: Option<String>,
    /// Story points.
    pub estimate: Option<i32>,
    /// Status (READY derived).
    pub status: ItemStatus,
    /// Accepted delivery owner.
    pub owner_id: Option<ID>,
    /// Declared, awaiting an answer.
    pub pending_owner_id: Option<ID>,
    /// Version for optimistic concurrency (pass as `expectedVersion`).
    pub version: String,
    /// Delivery-ownership history.
    pub ownership: Vec<OwnershipChange>,
}

fn item(view: &ItemView, org: &OrgView, pod: PodId) -> Item {
    let owner_in_pod = view.owner.is_some_and(|o| org.state.is_member_of(o, pod));
    let ready = view.status == DItemStatus::New
        && podledger_domain::pod::readiness_gaps(
            view.acceptance_criteria.is_some(),
            view.estimate.is_some(),
            owner_in_pod,
        )
        .is_empty();
    Item {
        id: to_id("Item", view.id.as_uuid()),
        title: view.title.clone(),
        description: view.description.clone(),
        output_category: view.output_category.clone(),
        acceptance_criteria: view.acceptance_criteria.clone(),
        estimate: view.estimate.map(|e| e as i32),
        status: match view.status {
            DItemStatus::New if ready => ItemStatus::Ready,
            DItemStatus::New => ItemStatus::New,
            DItemStatus::Committed => ItemStatus::Committed,
            DItemStatus::InProgress => ItemStatus::InProgress,
            DItemStatus::InReview => ItemStatus::InReview,
            DItemStatus::Done => ItemStatus::Done,
            DItemStatus::Dropped => ItemStatus::Dropped,
        },
        owner_id: view.owner.map(|o| to_id("Person", o.as_uuid())),
        pending_owner_id: view.pending_owner.map(|o| to_id("Person", o.as_uuid())),
        version: view.version.to_string(),
        ownership: ledger(&view.ledger),
    }
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

impl From<MSprint> for SprintMetrics {
    fn from(m: MSprint) -> Self {
        Self {
            committed_points: m.committed_points.map(|v| v as i32),
            velocity: m.velocity.map(|v| v as i32),
            commitment_reliability: m.commitment_reliability,
            scope_churn: m.scope_churn,
            task_completion: m.task_completion,
            goal_met: m.goal_met,
            velocity_by_cause: m.velocity_by_cause.map(|c| VelocityByCause {
                committed_done: c.committed_done as i32,
                reestimated_done: c.reestimated_done as i32,
                added_done: c.added_done as i32,
                removed: c.removed as i32,
                not_done: c.not_done as i32,
            }),
            backlog_churn_rate: m.backlog_churn_rate,
            additions: m.additions as i32,
            removals: m.removals as i32,
        }
    }
}

/// A sprint.
#[derive(SimpleObject, Clone, Debug)]
pub struct Sprint {
    /// Opaque id.
    pub id: ID,
    /// Number within the pod.
    pub number: i32,
    /// Status.
    pub status: SprintStatus,
    /// First day.
    pub start_date: NaiveDate,
    /// Last day (inclusive).
    pub end_date: NaiveDate,
    /// Goal.
    pub goal: Option<String>,
    /// Goal items.
    pub goal_item_ids: Vec<ID>,
    /// Items in the sprint now (for a closed sprint: those it ended with).
    pub items: Vec<Item>,
    /// Metrics.
    pub metrics: SprintMetrics,
    /// Version for optimistic concurrency.
    pub version: String,
}

fn sprint(
    view: &SprintView,
    metrics: MSprint,
    pod_view: &PodView,
    org: &OrgView,
    pod: PodId,
) -> Sprint {
    let ids: Vec<_> = match &view.closing {
        Some(c) => c.done.iter().chain(&c.not_done).map(|(i, _)| *i).collect(),
        None => view.items.clone(),
    };
    Sprint {
        id: to_id("Sprint", view.id.as_uuid()),
        number: view.number as i32,
        status: match view.status {
            DSprintStatus::Planned => SprintStatus::Planned,
            DSprintStatus::Active => SprintStatus::Active,
            DSprintStatus::Closed => SprintStatus::Closed,
        },
        start_date: view.start_date,
        end_date: view.end_date,
        goal: view.goal.clone(),
        goal_item_ids: view
            .goal_items
            .iter()
            .map(|i| to_id("Item", i.as_uuid()))
            .collect(),
        items: ids
            .iter()
            .filter_map(|i| pod_view.items.get(i))
            .map(|i| item(i, org, pod))
            .collect(),
        metrics: metrics.into(),
        version: view.version.to_string(),
    }
}

/// Metrics of a pod over its closed sprints (SPEC §6); null when undefined.
#[derive(SimpleObject, Clone, Debug)]
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
}

/// A pod.
#[derive(SimpleObject, Clone, Debug)]
pub struct Pod {
    /// Opaque id.
    pub id: ID,
    /// Name.
    pub name: String,
    /// Focus (ACQUISITION… or a custom label).
    pub focus: String,
    /// Product owner.
    pub product_owner_id: Option<ID>,
    /// Scrum master.
    pub scrum_master_id: Option<ID>,
    /// Members.
    pub members: Vec<Person>,
    /// Open items in rank order.
    pub backlog: Vec<Item>,
    /// The active sprint, or else the next planned one.
    pub current_sprint: Option<Sprint>,
    /// Every sprint, in plan order.
    pub sprints: Vec<Sprint>,
    /// Pod metrics.
    pub metrics: PodMetrics,
    /// Backlog-ownership (product owner) history.
    pub ownership: Vec<OwnershipChange>,
    /// Blockers, in raise order.
    pub blockers: Vec<Blocker>,
    /// KPIs with their latest performance.
    pub kpis: Vec<Kpi>,
    /// Version for optimistic concurrency.
    pub version: String,
}

/// Builds a pod from its views and the pod's KPIs.
pub fn pod_with_kpis(
    id: PodId,
    org: &OrgView,
    view: &PodView,
    kpis: &[std::sync::Arc<podledger_projections::kpi_view::KpiView>],
) -> Option<Pod> {
    let mut pod = pod(id, org, view)?;
    pod.kpis = kpis.iter().map(|k| kpi(k)).collect();
    Some(pod)
}

/// Builds a pod from its views (without KPIs).
pub fn pod(id: PodId, org: &OrgView, view: &PodView) -> Option<Pod> {
    let summary = org.state.pods.get(&id)?;
    let metrics = pod_metrics(view, None);
    // Each sprint's metrics once: pod_metrics computed them already, in plan order.
    let sprints: Vec<Sprint> = view
        .sprints
        .iter()
        .zip(metrics.sprints.iter().cloned())
        .map(|(s, m)| sprint(s, m, view, org, id))
        .collect();
    let current = view
        .current_sprint()
        .and_then(|c| view.sprints.iter().position(|s| s.id == c.id))
        .map(|i| sprints[i].clone());
    Some(Pod {
        id: to_id("Pod", id.as_uuid()),
        name: summary.name.clone(),
        focus: focus_name(&summary.focus),
        product_owner_id: summary.product_owner.map(|p| to_id("Person", p.as_uuid())),
        scrum_master_id: summary.scrum_master.map(|p| to_id("Person", p.as_uuid())),
        members: summary
            .members
            .iter()
            .filter_map(|m| person_of(org, *m))
            .collect(),
        backlog: view
            .backlog
            .iter()
            .filter_map(|i| view.items.get(i))
            .map(|i| item(i, org, id))
            .collect(),
        current_sprint: current,
        sprints,
        metrics: PodMetrics {
            closed_sprints: metrics.closed_sprints as i32,
            average_velocity: metrics.average_velocity,
            goal_completion_rate: metrics.goal_completion_rate,
            goals_without_escalation: metrics.goals_without_escalation,
            blocker_median_hours: metrics.blockers.median_hours,
            blocker_p90_hours: metrics.blockers.p90_hours,
            blockers_within_48h: metrics.blockers.share_within_48h,
        },
        ownership: ledger(org.ledger(id)),
        blockers: view.blockers.iter().map(blocker).collect(),
        kpis: Vec::new(),
        version: view.version.to_string(),
    })
}

/// Builds a person.
pub fn person(id: PersonId, p: &podledger_domain::org::Person) -> Person {
    Person {
        id: to_id("Person", id.as_uuid()),
        name: p.name.clone(),
        email: p.email.clone(),
        org_roles: p.org_roles.iter().map(|r| (*r).into()).collect(),
        pod_id: p.membership.as_ref().map(|m| to_id("Pod", m.pod.as_uuid())),
        pod_roles: p
            .membership
            .iter()
            .flat_map(|m| m.roles.iter().map(role_name))
            .collect(),
    }
}

/// A person of the organisation, if known.
pub fn person_of(org: &OrgView, id: PersonId) -> Option<Person> {
    org.state.people.get(&id).map(|p| person(id, p))
}

/// The organisation overview.
#[derive(SimpleObject, Clone, Debug)]
pub struct Organisation {
    /// Opaque id.
    pub id: ID,
    /// Name.
    pub name: String,
    /// Sprint length in days.
    pub sprint_length_days: i32,
    /// Pods.
    pub pods: Vec<Pod>,
    /// People.
    pub people: Vec<Person>,
    /// Health findings (SPEC §4), reported, never blocking.
    pub health_findings: Vec<HealthFinding>,
}

/// A health finding.
#[derive(SimpleObject, Clone, Debug)]
pub struct HealthFinding {
    /// POD_SIZE, CAPABILITY_NOT_COVERED, OWNER_SPREAD_THIN, MID_SPRINT_INSERTIONS or
    /// BLOCKER_OPEN_PAST_48H.
    pub kind: String,
    /// The pod.
    pub pod_id: ID,
    /// The sprint, where relevant.
    pub sprint_id: Option<ID>,
    /// The person, where relevant.
    pub person_id: Option<ID>,
    /// The blocker, where relevant.
    pub blocker_id: Option<ID>,
    /// The capability not covered, where relevant.
    pub capability: Option<String>,
    /// Members, output categories, insertions or hours open.
    pub count: Option<i32>,
}

/// Builds a finding.
pub fn finding(f: &podledger_projections::org_view::Finding) -> HealthFinding {
    use podledger_projections::org_view::Finding as F;
    let base = |kind: &str, pod: PodId| HealthFinding {
        kind: kind.into(),
        pod_id: to_id("Pod", pod.as_uuid()),
        sprint_id: None,
        person_id: None,
        blocker_id: None,
        capability: None,
        count: None,
    };
    match f {
        F::PodSize { pod, members } => HealthFinding {
            count: Some(*members as i32),
            ..base("POD_SIZE", *pod)
        },
        F::CapabilityNotCovered { pod, capability } => HealthFinding {
            capability: serde_json::to_value(capability)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned)),
            ..base("CAPABILITY_NOT_COVERED", *pod)
        },
        F::OwnerSpreadThin {
            pod,
            sprint,
            person,
            categories,
        } => HealthFinding {
            sprint_id: Some(to_id("Sprint", sprint.as_uuid())),
            person_id: Some(to_id("Person", person.as_uuid())),
            count: Some(*categories as i32),
            ..base("OWNER_SPREAD_THIN", *pod)
        },
        F::MidSprintInsertions {
            pod,
            sprint,
            insertions,
        } => HealthFinding {
            sprint_id: Some(to_id("Sprint", sprint.as_uuid())),
            count: Some(*insertions as i32),
            ..base("MID_SPRINT_INSERTIONS", *pod)
        },
        F::BlockerOpenPast48h {
            pod,
            blocker,
            hours,
        } => HealthFinding {
            blocker_id: Some(to_id("Blocker", blocker.as_uuid())),
            count: Some(*hours as i32),
            ..base("BLOCKER_OPEN_PAST_48H", *pod)
        },
    }
}

/// A find of an item of a pod.
pub fn find_item(
    view: &PodView,
    org: &OrgView,
    pod: PodId,
    id: podledger_domain::ids::ItemId,
) -> Option<Item> {
    view.items.get(&id).map(|i| item(i, org, pod))
}

/// A find of a sprint of a pod.
pub fn find_sprint(
    view: &PodView,
    org: &OrgView,
    pod: PodId,
    id: podledger_domain::ids::SprintId,
) -> Option<Sprint> {
    view.sprint(id)
        .map(|s| sprint(s, sprint_metrics(view, s), view, org, pod))
}

/// What kind of obstacle a blocker is.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum BlockerCategory {
    /// Waiting on another team.
    Dependency,
    /// Missing data access.
    DataAccess,
    /// Waiting on an approval.
    Approval,
    /// Tools.
    Tooling,
    /// People or time.
    Capacity,
    /// Outside the organisation.
    External,
    /// Anything else.
    Other,
}

impl From<BlockerCategory> for podledger_domain::pod::BlockerCategory {
    fn from(c: BlockerCategory) -> Self {
        match c {
            BlockerCategory::Dependency => Self::Dependency,
            BlockerCategory::DataAccess => Self::DataAccess,
            BlockerCategory::Approval => Self::Approval,
            BlockerCategory::Tooling => Self::Tooling,
            BlockerCategory::Capacity => Self::Capacity,
            BlockerCategory::External => Self::External,
            BlockerCategory::Other => Self::Other,
        }
    }
}

impl From<podledger_domain::pod::BlockerCategory> for BlockerCategory {
    fn from(c: podledger_domain::pod::BlockerCategory) -> Self {
        use podledger_domain::pod::BlockerCategory as D;
        match c {
            D::Dependency => Self::Dependency,
            D::DataAccess => Self::DataAccess,
            D::Approval => Self::Approval,
            D::Tooling => Self::Tooling,
            D::Capacity => Self::Capacity,
            D::External => Self::External,
            D::Other => Self::Other,
        }
    }
}

/// A blocker.
#[derive(SimpleObject, Clone, Debug)]
pub struct Blocker {
    /// Opaque id.
    pub id: ID,
    /// The blocked item.
    pub item_id: Option<ID>,
    /// Category.
    pub category: BlockerCategory,
    /// What blocks.
    pub description: String,
    /// Who raised it.
    pub raised_by_id: ID,
    /// Raised at.
    pub raised_at: DateTime<Utc>,
    /// Escalated at.
    pub escalated_at: Option<DateTime<Utc>>,
    /// Resolved at.
    pub resolved_at: Option<DateTime<Utc>>,
    /// How it was resolved.
    pub resolution: Option<String>,
}

/// Builds a blocker.
pub fn blocker(b: &podledger_projections::pod_view::BlockerView) -> Blocker {
    Blocker {
        id: to_id("Blocker", b.id.as_uuid()),
        item_id: b.item.map(|i| to_id("Item", i.as_uuid())),
        category: b.category.into(),
        description: b.description.clone(),
        raised_by_id: to_id("Person", b.raised_by.as_uuid()),
        raised_at: b.raised_at,
        escalated_at: b.escalated_at,
        resolved_at: b.resolved_at,
        resolution: b.resolution.clone(),
    }
}

/// Which way is good for a KPI.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum Direction {
    /// Higher is better.
    Increase,
    /// Lower is better.
    Decrease,
}

/// How often a KPI is read.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum ReportingCadence {
    /// Daily.
    Daily,
    /// Weekly.
    Weekly,
    /// Every sprint.
    PerSprint,
    /// Monthly.
    Monthly,
}

/// A KPI status (SPEC §6).
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum KpiStatus {
    /// Attainment ≥ 1.0.
    OnTrack,
    /// Attainment ≥ 0.9.
    AtRisk,
    /// Below 0.9.
    OffTrack,
}

/// A reading judged against the target.
#[derive(SimpleObject, Clone, Debug)]
pub struct KpiReading {
    /// Value.
    pub value: f64,
    /// Business time.
    pub observed_at: DateTime<Utc>,
    /// Source.
    pub source: Option<String>,
    /// value/target (INCREASE) or target/value (DECREASE); null when undefined.
    pub attainment: Option<f64>,
    /// Status; null when the attainment is.
    pub status: Option<KpiStatus>,
}

/// A KPI of a pod.
#[derive(SimpleObject, Clone, Debug)]
pub struct Kpi {
    /// Opaque id.
    pub id: ID,
    /// Name.
    pub name: String,
    /// Unit.
    pub unit: String,
    /// Direction.
    pub direction: Direction,
    /// Target.
    pub target: f64,
    /// Baseline.
    pub baseline: Option<f64>,
    /// Performance owner.
    pub owner_id: ID,
    /// The reading with the latest business time.
    pub latest: Option<KpiReading>,
    /// Every reading, in recording order.
    pub readings: Vec<KpiReading>,
    /// Performance-ownership history.
    pub ownership: Vec<OwnershipChange>,
    /// Version for optimistic concurrency.
    pub version: String,
}

/// Builds a KPI.
pub fn kpi(k: &podledger_projections::kpi_view::KpiView) -> Kpi {
    use podledger_domain::kpi::{Direction as D, KpiStatus as S};
    let judged = |j: podledger_projections::kpi_view::Judged| KpiReading {
        value: j.reading.value,
        observed_at: j.reading.observed_at,
        source: j.reading.source.clone(),
        attainment: j.attainment,
        status: j.status.map(|s| match s {
            S::OnTrack => KpiStatus::OnTrack,
            S::AtRisk => KpiStatus::AtRisk,
            S::OffTrack => KpiStatus::OffTrack,
        }),
    };
    Kpi {
        id: to_id("Kpi", k.id.as_uuid()),
        name: k.name.clone(),
        unit: k.unit.clone(),
        direction: match k.direction {
            D::Increase => Direction::Increase,
            D::Decrease => Direction::Decrease,
        },
        target: k.target,
        baseline: k.baseline,
        owner_id: to_id("Person", k.owner.as_uuid()),
        latest: k.latest().map(judged),
        readings: k.readings.iter().map(|r| judged(k.judge(r))).collect(),
        ownership: ledger(&k.ledger),
        version: k.version.to_string(),
    }
}
