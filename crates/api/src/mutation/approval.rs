//! Mutations of approvals (SPEC §9.3): the delivery owner asks, the approver decides.

use async_graphql::{Context, ID, Object, SimpleObject};
use podledger_domain::ids::{ApprovalId, ItemId, PodId};
use podledger_domain::pod::PodCommand;

use super::{CommandOptions, new_id, on_pod};
use crate::error::ApiResult;
use crate::ids::from_id;
use crate::objects::{self, Item};

/// The result of an approval mutation.
#[derive(SimpleObject, Debug)]
pub struct ApprovalPayload {
    /// Global position of the command's last event: pass it as `minPosition` to read your
    /// write on any replica (a retry with the same idempotency key answers with the first
    /// attempt's); null when the command changed nothing.
    pub position: Option<String>,
    /// The approval request as it is now.
    pub approval: Option<objects::Approval>,
    /// Its item as it is now.
    pub item: Option<Item>,
}

async fn approval_mutation(
    ctx: &Context<'_>,
    pod: PodId,
    approval: ApprovalId,
    command: PodCommand,
    options: Option<CommandOptions>,
) -> ApiResult<ApprovalPayload> {
    let (position, found) = on_pod(ctx, pod, command, options, |s| {
        let a = objects::operating::approval(s, approval)?;
        let item = s
            .view
            .state
            .approvals
            .get(&approval)
            .and_then(|r| Item::of(s, r.item));
        Some((a, item))
    })
    .await?;
    let (approval, item) = found.unzip();
    Ok(ApprovalPayload {
        position,
        approval,
        item: item.flatten(),
    })
}

/// Approval mutations: ask, decide.
#[derive(Debug, Default)]
pub struct ApprovalMutations;

#[Object]
impl ApprovalMutations {
    /// The item's delivery owner asks for the approval its output category needs; the item
    /// is IN_REVIEW. The approver and the deadline are the rule's.
    async fn request_approval(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        item_id: ID,
        options: Option<CommandOptions>,
    ) -> Result<ApprovalPayload, async_graphql::Error> {
        let pod = pod_id!(pod_id);
        let approval = ApprovalId(new_id(options.as_ref(), "approval"));
        let command = PodCommand::RequestApproval {
            approval_id: approval,
            item_id: item_id!(item_id),
        };
        Ok(approval_mutation(ctx, pod, approval, command, options).await?)
    }

    /// The approver approves, or rejects with a `reason`.
    async fn decide_approval(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        approval_id: ID,
        approved: bool,
        reason: Option<String>,
        options: Option<CommandOptions>,
    ) -> Result<ApprovalPayload, async_graphql::Error> {
        let pod = pod_id!(pod_id);
        let approval = ApprovalId(from_id("Approval", &approval_id, "approvalId")?);
        let command = PodCommand::DecideApproval {
            approval_id: approval,
            approved,
            reason,
        };
        Ok(approval_mutation(ctx, pod, approval, command, options).await?)
    }
}
