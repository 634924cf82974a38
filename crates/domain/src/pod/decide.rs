//! Entry point of pod decisions: the pod must exist in the organisation, the caller's expected
//! version (R12) is checked against the command's target, then the command goes to its decider.

use crate::context::Context;
use crate::error::DomainError;
use crate::ids::PodId;
use crate::org::OrgState;
use crate::permissions::check_expected_version;

use super::{
    PodCommand, PodEvent, PodState, decide_approval, decide_backlog, decide_blocker, decide_intake,
    decide_retro, decide_service, decide_sprint,
};

/// Decides what a pod command changes.
pub fn decide(
    org: &OrgState,
    pod_id: PodId,
    pod: &PodState,
    command: &PodCommand,
    ctx: &Context,
) -> Result<Vec<PodEvent>, DomainError> {
    if !org.pods.contains_key(&pod_id) {
        return Err(DomainError::not_found("podId", "pod", &pod_id));
    }
    check_expected_version(ctx, target_version(pod, command))?;
    let pod_ctx = PodCtx {
        org,
        pod_id,
        pod,
        ctx,
    };
    match command {
        PodCommand::CreateItem { .. }
        | PodCommand::EditItem { .. }
        | PodCommand::EstimateItem { .. }
        | PodCommand::RankItem { .. }
        | PodCommand::DropItem { .. }
        | PodCommand::DeclareDeliveryOwner { .. }
        | PodCommand::AcceptDeliveryOwnership { .. }
        | PodCommand::DeclineDeliveryOwnership { .. }
        | PodCommand::MoveItem { .. } => decide_backlog::decide(&pod_ctx, command),
        PodCommand::PlanSprint { .. }
        | PodCommand::ChangeSprintDates { .. }
        | PodCommand::SetSprintGoal { .. }
        | PodCommand::CommitItem { .. }
        | PodCommand::RemoveItemFromSprint { .. }
        | PodCommand::StartSprint { .. }
        | PodCommand::CloseSprint { .. } => decide_sprint::decide(&pod_ctx, command),
        PodCommand::RaiseBlocker { .. }
        | PodCommand::EscalateBlocker { .. }
        | PodCommand::ResolveBlocker { .. } => decide_blocker::decide(&pod_ctx, command),
        PodCommand::SubmitIntakeRequest { .. }
        | PodCommand::AcceptIntakeRequest { .. }
        | PodCommand::DeclineIntakeRequest { .. } => decide_intake::decide(&pod_ctx, command),
        PodCommand::RecordRetro { .. } | PodCommand::ResolveRetroAction { .. } => {
            decide_retro::decide(&pod_ctx, command)
        }
        PodCommand::RequestApproval { .. } | PodCommand::DecideApproval { .. } => {
            decide_approval::decide(&pod_ctx, command)
        }
        PodCommand::OpenServiceRequest { .. }
        | PodCommand::AcceptServiceRequest { .. }
        | PodCommand::DeliverServiceRequest { .. }
        | PodCommand::RejectServiceRequest { .. }
        | PodCommand::CancelServiceRequest { .. }
        | PodCommand::EscalateServiceRequest { .. } => decide_service::decide(&pod_ctx, command),
    }
}

/// What a pod decider sees.
pub(super) struct PodCtx<'a> {
    pub org: &'a OrgState,
    pub pod_id: PodId,
    pub pod: &'a PodState,
    pub ctx: &'a Context,
}

/// The version R12 compares: the item, sprint or blocker the command is about; the pod
/// stream's version for commands that create something.
fn target_version(pod: &PodState, command: &PodCommand) -> u64 {
    use PodCommand as C;
    let item = |id| pod.items.get(id).map(|i| i.version);
    let sprint = |id| pod.sprints.get(id).map(|s| s.version);
    let found = match command {
        C::EditItem { item_id, .. }
        | C::EstimateItem { item_id, .. }
        | C::RankItem { item_id, .. }
        | C::DropItem { item_id, .. }
        | C::DeclareDeliveryOwner { item_id, .. }
        | C::AcceptDeliveryOwnership { item_id }
        | C::DeclineDeliveryOwnership { item_id, .. }
        | C::MoveItem { item_id, .. }
        | C::RequestApproval { item_id, .. } => item(item_id),
        C::ChangeSprintDates { sprint_id, .. }
        | C::RecordRetro { sprint_id, .. }
        | C::SetSprintGoal { sprint_id, .. }
        | C::CommitItem { sprint_id, .. }
        | C::RemoveItemFromSprint { sprint_id, .. }
        | C::StartSprint { sprint_id }
        | C::CloseSprint { sprint_id } => sprint(sprint_id),
        C::EscalateBlocker { blocker_id, .. } | C::ResolveBlocker { blocker_id, .. } => {
            pod.blockers.get(blocker_id).map(|b| b.version)
        }
        C::AcceptIntakeRequest { request_id, .. } | C::DeclineIntakeRequest { request_id, .. } => {
            pod.intake.get(request_id).map(|r| r.version)
        }
        C::ResolveRetroAction { action_id, .. } => {
            pod.retro_actions.get(action_id).map(|a| a.version)
        }
        C::DecideApproval { approval_id, .. } => pod.approvals.get(approval_id).map(|a| a.version),
        C::AcceptServiceRequest { request_id }
        | C::DeliverServiceRequest { request_id }
        | C::RejectServiceRequest { request_id, .. }
        | C::CancelServiceRequest { request_id }
        | C::EscalateServiceRequest { request_id, .. } => {
            pod.service_requests.get(request_id).map(|r| r.version)
        }
        C::CreateItem { .. }
        | C::PlanSprint { .. }
        | C::RaiseBlocker { .. }
        | C::SubmitIntakeRequest { .. }
        | C::OpenServiceRequest { .. } => None,
    };
    found.unwrap_or(pod.version)
}
