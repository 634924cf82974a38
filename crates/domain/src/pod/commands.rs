//! Commands on a pod: backlog, sprints, blockers, intake, retros, approvals and service requests.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::ids::{
    ApprovalId, BlockerId, IntakeId, ItemId, PersonId, RetroActionId, ServiceRequestId,
    SharedServiceId, SprintId,
};

use super::{BlockerCategory, RetroActionItem, RetroOutcome, ScopeChangeReason, WorkStatus};

/// A request to change a pod's work.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
pub enum PodCommand {
    /// PO: creates a backlog item at the bottom of the backlog.
    CreateItem {
        /// New id, chosen by the caller.
        item_id: ItemId,
        /// Title.
        title: String,
        /// Context / description.
        description: Option<String>,
        /// Output category (e.g. "landing page", "email", "paid social").
        output_category: String,
        /// Acceptance criteria.
        acceptance_criteria: Option<String>,
        /// Story points.
        estimate: Option<i64>,
        /// Parent epic (another item of the pod).
        parent_epic: Option<ItemId>,
        /// Who asked for it.
        requester: Option<PersonId>,
    },
    /// PO: edits text fields; `None` leaves a field unchanged.
    EditItem {
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
    /// PO: sets the estimate (a re-estimate inside an active sprint counts as churn).
    EstimateItem {
        /// The item.
        item_id: ItemId,
        /// Story points.
        estimate: i64,
    },
    /// PO: moves the item just above `before`, or to the bottom when `before` is `None`.
    RankItem {
        /// The item.
        item_id: ItemId,
        /// The item to place it above.
        before: Option<ItemId>,
    },
    /// PO: drops the item. Inside an active sprint this is also a scope change and needs a reason.
    DropItem {
        /// The item.
        item_id: ItemId,
        /// Scope-change reason when the item is in an active sprint.
        reason: Option<ScopeChangeReason>,
    },
    /// PO: names the delivery owner, who must accept.
    DeclareDeliveryOwner {
        /// The item.
        item_id: ItemId,
        /// The person named.
        person_id: PersonId,
    },
    /// The named person accepts delivery ownership (R5).
    AcceptDeliveryOwnership {
        /// The item.
        item_id: ItemId,
    },
    /// The named person declines delivery ownership (R5).
    DeclineDeliveryOwnership {
        /// The item.
        item_id: ItemId,
        /// Why.
        reason: Option<String>,
    },
    /// The accepted delivery owner moves the item inside the active sprint (R10).
    MoveItem {
        /// The item.
        item_id: ItemId,
        /// The new status.
        status: WorkStatus,
    },
    /// PO: plans a sprint; the end defaults to start + the org's sprint length − 1 (inclusive).
    PlanSprint {
        /// New id, chosen by the caller.
        sprint_id: SprintId,
        /// First day.
        start_date: NaiveDate,
        /// Last day (inclusive).
        end_date: Option<NaiveDate>,
    },
    /// PO: moves a planned sprint (R7: not once active).
    ChangeSprintDates {
        /// The sprint.
        sprint_id: SprintId,
        /// First day.
        start_date: NaiveDate,
        /// Last day (inclusive).
        end_date: NaiveDate,
    },
    /// PO: sets the goal and goal items of a planned sprint.
    SetSprintGoal {
        /// The sprint.
        sprint_id: SprintId,
        /// The goal.
        goal: String,
        /// Items that make the goal.
        goal_items: Vec<ItemId>,
    },
    /// PO: commits a READY item to a sprint (R4); after start this is a scope change (R8).
    CommitItem {
        /// The sprint.
        sprint_id: SprintId,
        /// The item.
        item_id: ItemId,
        /// Scope-change reason, required once the sprint is active.
        reason: Option<ScopeChangeReason>,
    },
    /// PO: takes an item out of a sprint; after start this is a scope change (R8).
    RemoveItemFromSprint {
        /// The sprint.
        sprint_id: SprintId,
        /// The item.
        item_id: ItemId,
        /// Scope-change reason, required once the sprint is active.
        reason: Option<ScopeChangeReason>,
    },
    /// PO: starts a planned sprint (R1, R6, R9).
    StartSprint {
        /// The sprint.
        sprint_id: SprintId,
    },
    /// SM (PO if no SM): closes the active sprint; unfinished items return to the backlog.
    CloseSprint {
        /// The sprint.
        sprint_id: SprintId,
    },
    /// Any pod member raises a blocker on the pod or one of its items.
    RaiseBlocker {
        /// New id, chosen by the caller.
        blocker_id: BlockerId,
        /// The blocked item, if any.
        item_id: Option<ItemId>,
        /// Category.
        category: BlockerCategory,
        /// What blocks.
        description: String,
    },
    /// SM (PO if no SM): escalates a blocker beyond the pod.
    EscalateBlocker {
        /// The blocker.
        blocker_id: BlockerId,
        /// Note.
        note: Option<String>,
    },
    /// SM (PO if no SM): resolves a blocker.
    ResolveBlocker {
        /// The blocker.
        blocker_id: BlockerId,
        /// How it was resolved.
        resolution: Option<String>,
    },
    /// Any person of the organisation (members of any pod, stakeholders, oversight) submits a
    /// request to the pod's intake; it reaches the backlog only when the PO accepts it.
    SubmitIntakeRequest {
        /// New id, chosen by the caller.
        request_id: IntakeId,
        /// What is asked for.
        title: String,
        /// Context.
        description: Option<String>,
        /// Output category.
        output_category: String,
    },
    /// PO: accepts an open request; it becomes a backlog item whose requester is the submitter.
    AcceptIntakeRequest {
        /// The request.
        request_id: IntakeId,
        /// New id of the item, chosen by the caller.
        item_id: ItemId,
    },
    /// PO: declines an open request, saying why.
    DeclineIntakeRequest {
        /// The request.
        request_id: IntakeId,
        /// Why (shown to the requester).
        reason: String,
    },
    /// SM (PO if no SM): records the retro of a closed sprint — what went well, the friction
    /// found, and one or two action items, each with an owner from the pod (SPEC §9.2).
    RecordRetro {
        /// The sprint (CLOSED).
        sprint_id: SprintId,
        /// What went well.
        went_well: String,
        /// The friction found.
        friction: String,
        /// One or two specific changes.
        actions: Vec<RetroActionItem>,
    },
    /// The action's owner or the SM (PO if no SM) marks a retro action implemented or dropped,
    /// during the pod's next sprint.
    ResolveRetroAction {
        /// The action.
        action_id: RetroActionId,
        /// Implemented, or dropped with a reason.
        outcome: RetroOutcome,
    },
    /// The item's delivery owner asks for the approval its output category needs (SPEC §9.3);
    /// the item is `IN_REVIEW`.
    RequestApproval {
        /// New id, chosen by the caller.
        approval_id: ApprovalId,
        /// The item.
        item_id: ItemId,
    },
    /// The approver named in the request approves, or rejects with a reason.
    DecideApproval {
        /// The request.
        approval_id: ApprovalId,
        /// Approved or not.
        approved: bool,
        /// Why (required to reject).
        reason: Option<String>,
    },
    /// The pod's PO, or an item's delivery owner (with `item_id`), opens a request to a shared
    /// service (SPEC §9.1); it is received now if the service's window is open, else at its
    /// next opening, and due a turnaround later.
    OpenServiceRequest {
        /// New id, chosen by the caller.
        request_id: ServiceRequestId,
        /// The service.
        service_id: SharedServiceId,
        /// The item it is about, if any.
        item_id: Option<ItemId>,
        /// What is asked for.
        title: String,
        /// Context.
        description: Option<String>,
    },
    /// An operator of the service takes an open request on.
    AcceptServiceRequest {
        /// The request.
        request_id: ServiceRequestId,
    },
    /// An operator of the service delivers an accepted request.
    DeliverServiceRequest {
        /// The request.
        request_id: ServiceRequestId,
    },
    /// An operator of the service rejects a request, saying why.
    RejectServiceRequest {
        /// The request.
        request_id: ServiceRequestId,
        /// Why.
        reason: String,
    },
    /// The person who opened a request withdraws it.
    CancelServiceRequest {
        /// The request.
        request_id: ServiceRequestId,
    },
    /// The requester or the pod's SM escalates a request to the service's escalation contact.
    EscalateServiceRequest {
        /// The request.
        request_id: ServiceRequestId,
        /// Note.
        note: Option<String>,
    },
}
