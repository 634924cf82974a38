//! Events of a pod (past tense; stable names and schema versions — see `crate::codec`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{
    ApprovalId, BlockerId, IntakeId, ItemId, PersonId, RetroActionId, ServiceRequestId,
    SharedServiceId, SprintId,
};

use super::{BlockerCategory, ItemStatus, RetroActionItem, RetroOutcome, ScopeChangeReason};

/// An item and its estimate at the moment a sprint started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommittedItem {
    /// The item.
    pub item_id: ItemId,
    /// Its estimate at t0.
    pub estimate: u32,
}

/// What happened in a pod.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all_fields = "camelCase")]
pub enum PodEvent {
    /// A backlog item was created (schema v2; v1 is upcast, see `crate::codec`).
    ItemCreated {
        /// The item.
        item_id: ItemId,
        /// Title.
        title: String,
        /// Description.
        description: Option<String>,
        /// Output category.
        output_category: String,
        /// Acceptance criteria.
        acceptance_criteria: Option<String>,
        /// Story points.
        estimate: Option<u32>,
        /// Parent epic.
        parent_epic: Option<ItemId>,
        /// Requester.
        requester: Option<PersonId>,
    },
    /// Text fields of an item changed (only the changed ones are set).
    ItemEdited {
        /// The item.
        item_id: ItemId,
        /// New title.
        title: Option<String>,
        /// New description.
        description: Option<String>,
        /// New output category.
        output_category: Option<String>,
        /// New acceptance criteria.
        acceptance_criteria: Option<String>,
    },
    /// An item was (re-)estimated.
    ItemEstimated {
        /// The item.
        item_id: ItemId,
        /// New estimate.
        estimate: u32,
        /// Previous estimate.
        previous: Option<u32>,
    },
    /// An item moved in the backlog order: just above `before`, or to the bottom.
    ItemRanked {
        /// The item.
        item_id: ItemId,
        /// The item it now stands above.
        before: Option<ItemId>,
    },
    /// An item was dropped.
    ItemDropped {
        /// The item.
        item_id: ItemId,
    },
    /// The PO named a delivery owner (level 2 of SPEC §3); pending until accepted.
    DeliveryOwnerDeclared {
        /// The item.
        item_id: ItemId,
        /// The person named.
        person_id: PersonId,
        /// The accepted owner at that moment, who stays owner until the new one accepts.
        current_owner: Option<PersonId>,
    },
    /// The named person accepted; they are now the one delivery owner.
    DeliveryOwnershipAccepted {
        /// The item.
        item_id: ItemId,
        /// The new owner.
        person_id: PersonId,
        /// The owner they replace.
        previous_owner: Option<PersonId>,
    },
    /// The named person declined.
    DeliveryOwnershipDeclined {
        /// The item.
        item_id: ItemId,
        /// Who declined.
        person_id: PersonId,
        /// Why.
        reason: Option<String>,
    },
    /// The delivery owner moved the item.
    ItemStatusChanged {
        /// The item.
        item_id: ItemId,
        /// From.
        from: ItemStatus,
        /// To.
        to: ItemStatus,
    },
    /// A sprint was planned.
    SprintPlanned {
        /// The sprint.
        sprint_id: SprintId,
        /// 1, 2, 3… within the pod.
        number: u32,
        /// First day.
        start_date: NaiveDate,
        /// Last day (inclusive).
        end_date: NaiveDate,
    },
    /// A planned sprint moved.
    SprintDatesChanged {
        /// The sprint.
        sprint_id: SprintId,
        /// First day.
        start_date: NaiveDate,
        /// Last day (inclusive).
        end_date: NaiveDate,
    },
    /// The goal of a planned sprint was set.
    SprintGoalSet {
        /// The sprint.
        sprint_id: SprintId,
        /// Goal.
        goal: String,
        /// Goal items.
        goal_items: Vec<ItemId>,
    },
    /// An item was committed to a planned sprint.
    ItemCommitted {
        /// The sprint.
        sprint_id: SprintId,
        /// The item.
        item_id: ItemId,
    },
    /// An item was taken out of a planned sprint.
    ItemUncommitted {
        /// The sprint.
        sprint_id: SprintId,
        /// The item.
        item_id: ItemId,
    },
    /// The sprint started (t0): its committed items and their estimates.
    SprintStarted {
        /// The sprint.
        sprint_id: SprintId,
        /// When.
        at: DateTime<Utc>,
        /// C with estimates at t0.
        committed: Vec<CommittedItem>,
    },
    /// Scope change: an item was added after start (R8).
    ItemAddedToSprint {
        /// The sprint.
        sprint_id: SprintId,
        /// The item.
        item_id: ItemId,
        /// Why.
        reason: ScopeChangeReason,
        /// Its estimate at that moment.
        estimate: u32,
    },
    /// Scope change: an item was removed after start (R8).
    ItemRemovedFromSprint {
        /// The sprint.
        sprint_id: SprintId,
        /// The item.
        item_id: ItemId,
        /// Why.
        reason: ScopeChangeReason,
        /// Its estimate at that moment.
        estimate: u32,
    },
    /// The sprint closed (t1): DONE items stay done, the others return to the backlog.
    SprintClosed {
        /// The sprint.
        sprint_id: SprintId,
        /// When.
        at: DateTime<Utc>,
        /// D.
        done: Vec<ItemId>,
        /// I1 \ D.
        not_done: Vec<ItemId>,
        /// Whether every goal item was DONE.
        goal_met: bool,
    },
    /// A blocker was raised.
    BlockerRaised {
        /// The blocker.
        blocker_id: BlockerId,
        /// The blocked item, if any.
        item_id: Option<ItemId>,
        /// Category.
        category: BlockerCategory,
        /// What blocks.
        description: String,
        /// Who raised it.
        raised_by: PersonId,
        /// When.
        at: DateTime<Utc>,
    },
    /// A blocker was escalated beyond the pod.
    BlockerEscalated {
        /// The blocker.
        blocker_id: BlockerId,
        /// Note.
        note: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// A blocker was resolved.
    BlockerResolved {
        /// The blocker.
        blocker_id: BlockerId,
        /// How.
        resolution: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// A request was submitted to the pod's intake.
    IntakeRequestSubmitted {
        /// The request.
        request_id: IntakeId,
        /// Who asked.
        requester: PersonId,
        /// What is asked for.
        title: String,
        /// Context.
        description: Option<String>,
        /// Output category.
        output_category: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The PO accepted a request; the item created with it (same command) is `item_id`.
    IntakeRequestAccepted {
        /// The request.
        request_id: IntakeId,
        /// The backlog item it became.
        item_id: ItemId,
        /// When.
        at: DateTime<Utc>,
    },
    /// The PO declined a request.
    IntakeRequestDeclined {
        /// The request.
        request_id: IntakeId,
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The retro of a closed sprint was recorded (SPEC §9.2).
    RetroRecorded {
        /// The sprint.
        sprint_id: SprintId,
        /// What went well.
        went_well: String,
        /// The friction found.
        friction: String,
        /// Its action items.
        actions: Vec<RetroActionItem>,
        /// When.
        at: DateTime<Utc>,
    },
    /// A retro action was marked implemented or dropped.
    RetroActionResolved {
        /// The action.
        action_id: RetroActionId,
        /// How it ended.
        outcome: RetroOutcome,
        /// When.
        at: DateTime<Utc>,
    },
    /// The delivery owner asked for an item's approval (SPEC §9.3).
    ApprovalRequested {
        /// The request.
        approval_id: ApprovalId,
        /// The item.
        item_id: ItemId,
        /// Who approves (the rule's at the time of asking).
        approver: PersonId,
        /// When a decision becomes late (the rule's deadline from now).
        due_at: DateTime<Utc>,
        /// When.
        at: DateTime<Utc>,
    },
    /// The approver decided.
    ApprovalDecided {
        /// The request.
        approval_id: ApprovalId,
        /// Approved or not.
        approved: bool,
        /// Why.
        reason: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
    /// A request was opened to a shared service (SPEC §9.1).
    ServiceRequestOpened {
        /// The request.
        request_id: ServiceRequestId,
        /// The service.
        service_id: SharedServiceId,
        /// The item it is about, if any.
        item_id: Option<ItemId>,
        /// What is asked for.
        title: String,
        /// Context.
        description: Option<String>,
        /// Who opened it.
        requested_by: PersonId,
        /// When it was opened.
        at: DateTime<Utc>,
        /// When the service received it (its window's next opening, or `at`).
        received_at: DateTime<Utc>,
        /// When it is due (received + the SLA's turnaround).
        due_at: DateTime<Utc>,
    },
    /// An operator took the request on.
    ServiceRequestAccepted {
        /// The request.
        request_id: ServiceRequestId,
        /// The operator.
        by: PersonId,
        /// When.
        at: DateTime<Utc>,
    },
    /// An operator delivered the request.
    ServiceRequestDelivered {
        /// The request.
        request_id: ServiceRequestId,
        /// The operator.
        by: PersonId,
        /// When.
        at: DateTime<Utc>,
    },
    /// An operator rejected the request.
    ServiceRequestRejected {
        /// The request.
        request_id: ServiceRequestId,
        /// The operator.
        by: PersonId,
        /// Why.
        reason: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The requester withdrew the request.
    ServiceRequestCancelled {
        /// The request.
        request_id: ServiceRequestId,
        /// When.
        at: DateTime<Utc>,
    },
    /// The request was escalated to the service's escalation contact.
    ServiceRequestEscalated {
        /// The request.
        request_id: ServiceRequestId,
        /// The escalation contact it went to.
        escalated_to: PersonId,
        /// Note.
        note: Option<String>,
        /// When.
        at: DateTime<Utc>,
    },
}
