//! The state of a pod, folded from its events.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{
    ApprovalId, BlockerId, IntakeId, ItemId, PersonId, PodId, RetroActionId, ServiceRequestId,
    SharedServiceId, SprintId,
};
use crate::org::OrgState;
use crate::persistent::Map;

use super::{BlockerCategory, PodEvent, RetroActionKind, RetroOutcome};

/// The stored status of an item. `READY` is derived (see [`Item::is_ready`]), never stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ItemStatus {
    /// In the backlog (READY when it meets R4).
    New,
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

/// A backlog item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Output category.
    pub output_category: String,
    /// Acceptance criteria.
    pub acceptance_criteria: Option<String>,
    /// Story points.
    pub estimate: Option<u32>,
    /// Parent epic.
    pub parent_epic: Option<ItemId>,
    /// Requester.
    pub requester: Option<PersonId>,
    /// Stored status.
    pub status: ItemStatus,
    /// The accepted delivery owner.
    pub owner: Option<PersonId>,
    /// A declared owner who has not answered yet.
    pub pending_owner: Option<PersonId>,
    /// The sprint the item is in (for DONE items: the sprint it was done in).
    pub sprint: Option<SprintId>,
    /// An approval was granted since its last move to `IN_REVIEW` (SPEC §9.3).
    pub approved: bool,
    /// Pod stream version of the last event that changed this item (R12).
    pub version: u64,
}

/// R4, the one definition of readiness: acceptance criteria, an estimate, and an accepted owner
/// who is a member of the pod. Returns the missing conditions, as field names.
pub fn readiness_gaps(
    has_acceptance_criteria: bool,
    has_estimate: bool,
    owner_in_pod: bool,
) -> Vec<&'static str> {
    let mut missing = Vec::new();
    if !has_acceptance_criteria {
        missing.push("acceptanceCriteria");
    }
    if !has_estimate {
        missing.push("estimate");
    }
    if !owner_in_pod {
        missing.push("deliveryOwner");
    }
    missing
}

impl Item {
    /// R4 for this item (see [`readiness_gaps`]).
    pub fn readiness_gaps(&self, org: &OrgState, pod: PodId) -> Vec<&'static str> {
        readiness_gaps(
            self.acceptance_criteria.is_some(),
            self.estimate.is_some(),
            self.owner.is_some_and(|o| org.is_member_of(o, pod)),
        )
    }

    /// Whether the item is READY (SPEC §2): NEW and meeting R4.
    pub fn is_ready(&self, org: &OrgState, pod: PodId) -> bool {
        self.status == ItemStatus::New && self.readiness_gaps(org, pod).is_empty()
    }
}

/// The status of a sprint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SprintStatus {
    /// Not started.
    Planned,
    /// Running.
    Active,
    /// Finished.
    Closed,
}

/// A sprint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sprint {
    /// 1, 2, 3… within the pod.
    pub number: u32,
    /// First day.
    pub start_date: NaiveDate,
    /// Last day (inclusive).
    pub end_date: NaiveDate,
    /// Goal.
    pub goal: Option<String>,
    /// Goal items.
    pub goal_items: Vec<ItemId>,
    /// Status.
    pub status: SprintStatus,
    /// Items in the sprint now (in the order they entered).
    pub items: Vec<ItemId>,
    /// t0.
    #[serde(with = "crate::stamp::option")]
    pub started_at: Option<DateTime<Utc>>,
    /// t1.
    #[serde(with = "crate::stamp::option")]
    pub closed_at: Option<DateTime<Utc>>,
    /// Pod stream version of the last event that changed this sprint (R12).
    pub version: u64,
}

impl Sprint {
    /// Whether `[start, end]` overlaps this sprint's days.
    pub fn overlaps(&self, start: NaiveDate, end: NaiveDate) -> bool {
        start <= self.end_date && self.start_date <= end
    }
}

/// Where an intake request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IntakeStatus {
    /// Awaiting the PO.
    Open,
    /// Became a backlog item.
    Accepted,
    /// Declined by the PO.
    Declined,
}

/// A request submitted to the pod's intake.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntakeRequest {
    /// Who asked.
    pub requester: PersonId,
    /// What is asked for.
    pub title: String,
    /// Context.
    pub description: Option<String>,
    /// Output category.
    pub output_category: String,
    /// Where it stands.
    pub status: IntakeStatus,
    /// Pod stream version of the last event that changed this request (R12).
    pub version: u64,
}

/// A blocker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blocker {
    /// The blocked item, if any.
    pub item: Option<ItemId>,
    /// Category.
    pub category: BlockerCategory,
    /// Raised at.
    #[serde(with = "crate::stamp")]
    pub raised_at: DateTime<Utc>,
    /// Escalated at.
    #[serde(with = "crate::stamp::option")]
    pub escalated_at: Option<DateTime<Utc>>,
    /// Resolved at.
    #[serde(with = "crate::stamp::option")]
    pub resolved_at: Option<DateTime<Utc>>,
    /// Pod stream version of the last event that changed this blocker (R12).
    pub version: u64,
}

/// A sprint's retro (SPEC §9.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Retro {
    /// Its action items, in the order recorded.
    pub actions: Vec<RetroActionId>,
    /// When it was recorded.
    #[serde(with = "crate::stamp")]
    pub recorded_at: DateTime<Utc>,
}

/// A retro action item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetroAction {
    /// The sprint whose retro recorded it.
    pub sprint: SprintId,
    /// Who sees it through.
    pub owner: PersonId,
    /// What it changes.
    pub kind: RetroActionKind,
    /// How it ended; `None` while open.
    pub outcome: Option<RetroOutcome>,
    /// Pod stream version of the last event that changed it (R12).
    pub version: u64,
}

/// A decision on an approval request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalDecision {
    /// Approved or not.
    pub approved: bool,
    /// When.
    #[serde(with = "crate::stamp")]
    pub at: DateTime<Utc>,
}

/// A request for an item's approval (SPEC §9.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    /// The item.
    pub item: ItemId,
    /// Who approves.
    pub approver: PersonId,
    /// When it was asked for.
    #[serde(with = "crate::stamp")]
    pub requested_at: DateTime<Utc>,
    /// When a decision becomes late.
    #[serde(with = "crate::stamp")]
    pub due_at: DateTime<Utc>,
    /// The decision, once made.
    pub decision: Option<ApprovalDecision>,
    /// Pod stream version of the last event that changed it (R12).
    pub version: u64,
}

/// Where a request to a shared service stands (SPEC §9.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
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

impl ServiceRequestStatus {
    /// Still waiting on the service (OPEN or ACCEPTED).
    pub const fn is_waiting(self) -> bool {
        matches!(self, Self::Open | Self::Accepted)
    }
}

/// A pod's request to a shared service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRequest {
    /// The service.
    pub service: SharedServiceId,
    /// The item it is about, if any.
    pub item: Option<ItemId>,
    /// Who opened it.
    pub requested_by: PersonId,
    /// Where it stands.
    pub status: ServiceRequestStatus,
    /// When the service received it.
    #[serde(with = "crate::stamp")]
    pub received_at: DateTime<Utc>,
    /// When it is due.
    #[serde(with = "crate::stamp")]
    pub due_at: DateTime<Utc>,
    /// When it was delivered, rejected or cancelled.
    #[serde(with = "crate::stamp::option")]
    pub closed_at: Option<DateTime<Utc>>,
    /// Whether it was escalated.
    pub escalated: bool,
    /// Pod stream version of the last event that changed it (R12).
    pub version: u64,
}

impl ServiceRequest {
    /// Breached at `now`: not delivered or rejected by its due time (SPEC §9.1).
    pub fn breached_at(&self, now: DateTime<Utc>) -> bool {
        let answered_by_due = matches!(
            self.status,
            ServiceRequestStatus::Delivered | ServiceRequestStatus::Rejected
        ) && self.closed_at.is_some_and(|t| t <= self.due_at);
        let cancelled_before_due = self.status == ServiceRequestStatus::Cancelled
            && self.closed_at.is_some_and(|t| t <= self.due_at);
        now > self.due_at && !answered_by_due && !cancelled_before_due
    }
}

/// Everything decisions need to know about a pod's work.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodState {
    /// Number of events applied (the stream version).
    pub version: u64,
    /// Items by id, each behind its own `Arc`: an entry is a pointer, so the map's nodes stay
    /// small (a node copied for a write to a shared state copies sixteen pointers, not sixteen
    /// items and their texts) and inserting moves no item around.
    pub items: Map<ItemId, Arc<Item>>,
    /// Open items (neither DROPPED nor done in a closed sprint) in rank order. (A deque:
    /// re-ranking usually moves an item to the top, which a `Vec` pays for by shifting the
    /// whole backlog. Not a persistent sequence: its length is the open work, not the
    /// history, and searching and removing in an RRB tree made rebuilds 15 % slower.)
    pub backlog: VecDeque<ItemId>,
    /// Sprints by id.
    pub sprints: Map<SprintId, Sprint>,
    /// Sprints by number, in plan order (a sprint's number is one more than the count of the
    /// sprints planned before it; were two to share one, the first planned keeps it).
    pub sprint_numbers: Map<u32, SprintId>,
    /// The ACTIVE sprint, if any.
    pub active_sprint: Option<SprintId>,
    /// Blockers by id.
    pub blockers: Map<BlockerId, Blocker>,
    /// Intake requests by id.
    pub intake: Map<IntakeId, IntakeRequest>,
    /// Retros by sprint.
    pub retros: Map<SprintId, Retro>,
    /// Retro action items by id.
    pub retro_actions: Map<RetroActionId, RetroAction>,
    /// Approval requests by id.
    pub approvals: Map<ApprovalId, Approval>,
    /// Requests to shared services by id.
    pub service_requests: Map<ServiceRequestId, ServiceRequest>,
}

impl PodState {
    /// Folds one event into the state.
    #[allow(clippy::too_many_lines)] // one arm per event type reads best as one match
    pub fn evolve(&mut self, event: &PodEvent) {
        self.version += 1;
        let version = self.version;
        match event {
            PodEvent::ItemCreated {
                item_id,
                title,
                description,
                output_category,
                acceptance_criteria,
                estimate,
                parent_epic,
                requester,
            } => {
                self.items.insert(
                    *item_id,
                    Arc::new(Item {
                        title: title.clone(),
                        description: description.clone(),
                        output_category: output_category.clone(),
                        acceptance_criteria: acceptance_criteria.clone(),
                        estimate: *estimate,
                        parent_epic: *parent_epic,
                        requester: *requester,
                        status: ItemStatus::New,
                        owner: None,
                        pending_owner: None,
                        sprint: None,
                        approved: false,
                        version,
                    }),
                );
                self.backlog.push_back(*item_id);
            }
            PodEvent::ItemEdited {
                item_id,
                title,
                description,
                output_category,
                acceptance_criteria,
            } => {
                if let Some(item) = self.item_mut(*item_id, version) {
                    if let Some(v) = title {
                        item.title.clone_from(v);
                    }
                    if let Some(v) = description {
                        item.description = Some(v.clone());
                    }
                    if let Some(v) = output_category {
                        item.output_category.clone_from(v);
                    }
                    if let Some(v) = acceptance_criteria {
                        item.acceptance_criteria = Some(v.clone());
                    }
                }
            }
            PodEvent::ItemEstimated {
                item_id, estimate, ..
            } => {
                if let Some(item) = self.item_mut(*item_id, version) {
                    item.estimate = Some(*estimate);
                }
            }
            PodEvent::ItemRanked { item_id, before } => {
                self.item_mut(*item_id, version);
                self.unrank(*item_id);
                let at = before
                    .and_then(|b| self.backlog.iter().position(|id| *id == b))
                    .unwrap_or(self.backlog.len());
                self.backlog.insert(at, *item_id);
            }
            PodEvent::ItemDropped { item_id } => {
                if let Some(item) = self.item_mut(*item_id, version) {
                    item.status = ItemStatus::Dropped;
                    item.sprint = None;
                }
                self.unrank(*item_id);
            }
            PodEvent::DeliveryOwnerDeclared {
                item_id, person_id, ..
            } => {
                if let Some(item) = self.item_mut(*item_id, version) {
                    item.pending_owner = Some(*person_id);
                }
            }
            PodEvent::DeliveryOwnershipAccepted {
                item_id, person_id, ..
            } => {
                if let Some(item) = self.item_mut(*item_id, version) {
                    item.owner = Some(*person_id);
                    item.pending_owner = None;
                }
            }
            PodEvent::DeliveryOwnershipDeclined { item_id, .. } => {
                if let Some(item) = self.item_mut(*item_id, version) {
                    item.pending_owner = None;
                }
            }
            PodEvent::ItemStatusChanged { item_id, to, .. } => {
                if let Some(item) = self.item_mut(*item_id, version) {
                    item.status = *to;
                    if *to == ItemStatus::InReview {
                        item.approved = false;
                    }
                }
            }
            PodEvent::SprintPlanned {
                sprint_id,
                number,
                start_date,
                end_date,
            } => {
                self.sprints.insert(
                    *sprint_id,
                    Sprint {
                        number: *number,
                        start_date: *start_date,
                        end_date: *end_date,
                        goal: None,
                        goal_items: Vec::new(),
                        status: SprintStatus::Planned,
                        items: Vec::new(),
                        started_at: None,
                        closed_at: None,
                        version,
                    },
                );
                self.sprint_numbers.entry(*number).or_insert(*sprint_id);
            }
            PodEvent::SprintDatesChanged {
                sprint_id,
                start_date,
                end_date,
            } => {
                if let Some(sprint) = self.sprint_mut(*sprint_id, version) {
                    sprint.start_date = *start_date;
                    sprint.end_date = *end_date;
                }
            }
            PodEvent::SprintGoalSet {
                sprint_id,
                goal,
                goal_items,
            } => {
                if let Some(sprint) = self.sprint_mut(*sprint_id, version) {
                    sprint.goal = Some(goal.clone());
                    sprint.goal_items.clone_from(goal_items);
                }
            }
            PodEvent::ItemCommitted { sprint_id, item_id }
            | PodEvent::ItemAddedToSprint {
                sprint_id, item_id, ..
            } => {
                if let Some(sprint) = self.sprint_mut(*sprint_id, version) {
                    sprint.items.push(*item_id);
                }
                if let Some(item) = self.item_mut(*item_id, version) {
                    item.status = ItemStatus::Committed;
                    item.sprint = Some(*sprint_id);
                }
            }
            PodEvent::ItemUncommitted { sprint_id, item_id }
            | PodEvent::ItemRemovedFromSprint {
                sprint_id, item_id, ..
            } => {
                if let Some(sprint) = self.sprint_mut(*sprint_id, version) {
                    sprint.items.retain(|id| id != item_id);
                }
                if let Some(item) = self.item_mut(*item_id, version) {
                    item.status = ItemStatus::New;
                    item.sprint = None;
                }
            }
            PodEvent::SprintStarted { sprint_id, at, .. } => {
                if let Some(sprint) = self.sprint_mut(*sprint_id, version) {
                    sprint.status = SprintStatus::Active;
                    sprint.started_at = Some(*at);
                }
                self.active_sprint = Some(*sprint_id);
            }
            PodEvent::SprintClosed {
                sprint_id,
                at,
                done,
                not_done,
                ..
            } => {
                if let Some(sprint) = self.sprint_mut(*sprint_id, version) {
                    sprint.status = SprintStatus::Closed;
                    sprint.closed_at = Some(*at);
                }
                if self.active_sprint == Some(*sprint_id) {
                    self.active_sprint = None;
                }
                for id in not_done {
                    if let Some(item) = self.item_mut(*id, version) {
                        item.status = ItemStatus::New;
                        item.sprint = None;
                    }
                }
                for id in done {
                    self.item_mut(*id, version);
                }
                self.leave_backlog(done);
            }
            PodEvent::BlockerRaised {
                blocker_id,
                item_id,
                category,
                at,
                ..
            } => {
                self.blockers.insert(
                    *blocker_id,
                    Blocker {
                        item: *item_id,
                        category: *category,
                        raised_at: *at,
                        escalated_at: None,
                        resolved_at: None,
                        version,
                    },
                );
            }
            PodEvent::BlockerEscalated { blocker_id, at, .. } => {
                if let Some(b) = self.blockers.get_mut(blocker_id) {
                    b.escalated_at = Some(*at);
                    b.version = version;
                }
            }
            PodEvent::BlockerResolved { blocker_id, at, .. } => {
                if let Some(b) = self.blockers.get_mut(blocker_id) {
                    b.resolved_at = Some(*at);
                    b.version = version;
                }
            }
            PodEvent::IntakeRequestSubmitted {
                request_id,
                requester,
                title,
                description,
                output_category,
                ..
            } => {
                self.intake.insert(
                    *request_id,
                    IntakeRequest {
                        requester: *requester,
                        title: title.clone(),
                        description: description.clone(),
                        output_category: output_category.clone(),
                        status: IntakeStatus::Open,
                        version,
                    },
                );
            }
            PodEvent::IntakeRequestAccepted { request_id, .. } => {
                self.decide_intake(*request_id, IntakeStatus::Accepted, version);
            }
            PodEvent::IntakeRequestDeclined { request_id, .. } => {
                self.decide_intake(*request_id, IntakeStatus::Declined, version);
            }
            PodEvent::RetroRecorded {
                sprint_id,
                actions,
                at,
                ..
            } => {
                for a in actions {
                    self.retro_actions.insert(
                        a.action_id,
                        RetroAction {
                            sprint: *sprint_id,
                            owner: a.owner,
                            kind: a.kind,
                            outcome: None,
                            version,
                        },
                    );
                }
                self.retros.insert(
                    *sprint_id,
                    Retro {
                        actions: actions.iter().map(|a| a.action_id).collect(),
                        recorded_at: *at,
                    },
                );
                self.sprint_mut(*sprint_id, version);
            }
            PodEvent::RetroActionResolved {
                action_id, outcome, ..
            } => {
                if let Some(a) = self.retro_actions.get_mut(action_id) {
                    a.outcome = Some(outcome.clone());
                    a.version = version;
                }
            }
            PodEvent::ApprovalRequested {
                approval_id,
                item_id,
                approver,
                due_at,
                at,
            } => {
                self.approvals.insert(
                    *approval_id,
                    Approval {
                        item: *item_id,
                        approver: *approver,
                        requested_at: *at,
                        due_at: *due_at,
                        decision: None,
                        version,
                    },
                );
                self.item_mut(*item_id, version);
            }
            PodEvent::ApprovalDecided {
                approval_id,
                approved,
                at,
                ..
            } => {
                let Some(a) = self.approvals.get_mut(approval_id) else {
                    return;
                };
                a.decision = Some(ApprovalDecision {
                    approved: *approved,
                    at: *at,
                });
                a.version = version;
                let item = a.item;
                if let Some(item) = self.item_mut(item, version) {
                    item.approved |= *approved;
                }
            }
            PodEvent::ServiceRequestOpened {
                request_id,
                service_id,
                item_id,
                requested_by,
                received_at,
                due_at,
                ..
            } => {
                self.service_requests.insert(
                    *request_id,
                    ServiceRequest {
                        service: *service_id,
                        item: *item_id,
                        requested_by: *requested_by,
                        status: ServiceRequestStatus::Open,
                        received_at: *received_at,
                        due_at: *due_at,
                        closed_at: None,
                        escalated: false,
                        version,
                    },
                );
            }
            PodEvent::ServiceRequestAccepted { request_id, .. } => {
                self.service_request(*request_id, version, ServiceRequestStatus::Accepted, None);
            }
            PodEvent::ServiceRequestDelivered { request_id, at, .. } => {
                self.service_request(
                    *request_id,
                    version,
                    ServiceRequestStatus::Delivered,
                    Some(*at),
                );
            }
            PodEvent::ServiceRequestRejected { request_id, at, .. } => {
                self.service_request(
                    *request_id,
                    version,
                    ServiceRequestStatus::Rejected,
                    Some(*at),
                );
            }
            PodEvent::ServiceRequestCancelled { request_id, at } => {
                self.service_request(
                    *request_id,
                    version,
                    ServiceRequestStatus::Cancelled,
                    Some(*at),
                );
            }
            PodEvent::ServiceRequestEscalated { request_id, .. } => {
                if let Some(r) = self.service_requests.get_mut(request_id) {
                    r.escalated = true;
                    r.version = version;
                }
            }
        }
    }

    fn service_request(
        &mut self,
        id: ServiceRequestId,
        version: u64,
        status: ServiceRequestStatus,
        closed_at: Option<DateTime<Utc>>,
    ) {
        if let Some(r) = self.service_requests.get_mut(&id) {
            r.status = status;
            r.closed_at = closed_at.or(r.closed_at);
            r.version = version;
        }
    }

    /// The sprint planned right after `sprint` (the next number), if any.
    pub fn next_sprint(&self, sprint: SprintId) -> Option<(SprintId, &Sprint)> {
        let number = self.sprints.get(&sprint)?.number;
        let (_, next) = self
            .sprint_numbers
            .range(number.saturating_add(1)..)
            .next()?;
        Some((*next, self.sprints.get(next)?))
    }

    /// The item with this id (the map holds each behind an `Arc`).
    pub fn item(&self, id: &ItemId) -> Option<&Item> {
        self.items.get(id).map(|item| &**item)
    }

    /// Takes `items` out of the backlog. Items committed to a sprint come from near its top
    /// (or, just created, its bottom): it is searched from both ends at once and no further
    /// than the last of them is found, so a close does not pass over a long backlog; each
    /// entry visited costs a bisection of the (sorted) items, and a removal shifts the shorter
    /// side.
    fn leave_backlog(&mut self, items: &[ItemId]) {
        let mut items = items.to_vec();
        items.sort_unstable();
        let leaving = |id: &ItemId| items.binary_search(id).is_ok();
        let mut found = Vec::with_capacity(items.len());
        let (mut front, mut back) = (0, self.backlog.len());
        while found.len() < items.len() && front < back {
            if leaving(&self.backlog[front]) {
                found.push(front);
            }
            front += 1;
            if found.len() < items.len() && front < back {
                back -= 1;
                if leaving(&self.backlog[back]) {
                    found.push(back);
                }
            }
        }
        found.sort_unstable_by(|a, b| b.cmp(a));
        for i in found {
            self.backlog.remove(i);
        }
    }

    /// Takes an item out of the backlog (it is there at most once).
    fn unrank(&mut self, id: ItemId) {
        if let Some(index) = self.backlog.iter().position(|b| *b == id) {
            self.backlog.remove(index);
        }
    }

    fn decide_intake(&mut self, id: IntakeId, status: IntakeStatus, version: u64) {
        if let Some(r) = self.intake.get_mut(&id) {
            r.status = status;
            r.version = version;
        }
    }

    fn item_mut(&mut self, id: ItemId, version: u64) -> Option<&mut Item> {
        let item = Arc::make_mut(self.items.get_mut(&id)?);
        item.version = version;
        Some(item)
    }

    fn sprint_mut(&mut self, id: SprintId, version: u64) -> Option<&mut Sprint> {
        let sprint = self.sprints.get_mut(&id)?;
        sprint.version = version;
        Some(sprint)
    }

    /// Whether the item is closed to changes: DROPPED, or DONE in a sprint that is no longer active.
    pub fn item_is_closed(&self, item: &Item) -> bool {
        match item.status {
            ItemStatus::Dropped => true,
            ItemStatus::Done => item.sprint != self.active_sprint || item.sprint.is_none(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone as _, Utc};
    use uuid::Uuid;

    use super::PodState;
    use crate::ids::{ItemId, SprintId};
    use crate::pod::PodEvent;

    fn item(n: u128) -> ItemId {
        ItemId(Uuid::from_u128(n))
    }

    /// Given a backlog, when a sprint closes with done items at its top, in its middle and at
    /// its bottom (and one no longer in it), then exactly those leave and the rest keep their
    /// order — whichever end the search reaches them from.
    #[test]
    fn given_a_backlog_when_a_sprint_closes_then_its_done_items_leave_it_wherever_they_stand() {
        for done in [
            vec![],
            vec![1],
            vec![9],
            vec![5],
            vec![9, 1],
            vec![1, 5, 9, 42],
            vec![2, 3, 4, 6, 7, 8],
            (1..=9).collect(),
        ] {
            let mut state = PodState {
                backlog: (1..=9).map(item).collect(),
                ..PodState::default()
            };
            state.evolve(&PodEvent::SprintClosed {
                sprint_id: SprintId(Uuid::from_u128(100)),
                at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
                done: done.iter().map(|n| item(*n)).collect(),
                not_done: vec![],
                goal_met: true,
            });
            let left: Vec<ItemId> = (1..=9).filter(|n| !done.contains(n)).map(item).collect();
            assert_eq!(state.backlog, left, "done {done:?}");
        }
    }
}
