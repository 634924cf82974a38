//! Mutations of backlog items: creating, editing, estimating, ranking, dropping, delivery
//! ownership and the owner's status moves.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use podledger_domain::ids::{ItemId, PersonId, PodId};
use podledger_domain::pod::{PodCommand, WorkStatus};

use super::{CommandOptions, ScopeChangeInput, new_id, on_pod, read_pod, reason};
use crate::error::{ApiError, ApiResult};
use crate::ids::from_id;
use crate::objects::{Item, Pod};

/// The result of an item mutation.
#[derive(SimpleObject, Debug)]
#[graphql(complex)]
pub struct ItemPayload {
    /// Global position of the command's last event: pass it as `minPosition` to read your
    /// write on any replica (a retry with the same idempotency key answers with the first
    /// attempt's); null when the command changed nothing.
    pub position: Option<String>,
    /// The item as it is now.
    pub item: Option<Item>,
    #[graphql(skip)]
    pod_id: PodId,
}

#[async_graphql::ComplexObject]
impl ItemPayload {
    /// The item's pod as it is now (its backlog in rank order, after `rankItem`).
    async fn pod(&self, ctx: &Context<'_>) -> Option<Pod> {
        read_pod(ctx, self.pod_id)
    }
}

/// Runs a pod command and answers with the item as it is now.
async fn item_mutation(
    ctx: &Context<'_>,
    pod: PodId,
    item: ItemId,
    command: PodCommand,
    options: Option<CommandOptions>,
) -> ApiResult<ItemPayload> {
    let (position, item) = on_pod(ctx, pod, command, options, |s| Item::of(s, item)).await?;
    Ok(ItemPayload {
        position,
        item,
        pod_id: pod,
    })
}

/// A status the delivery owner moves an item to.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum WorkStatusInput {
    /// Back to to-do.
    Committed,
    /// Started.
    InProgress,
    /// Awaiting review.
    InReview,
    /// Finished.
    Done,
}

/// A new backlog item.
#[derive(InputObject, Debug)]
pub struct CreateItemInput {
    /// Pod.
    pub pod_id: ID,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Output category.
    pub output_category: String,
    /// Acceptance criteria.
    pub acceptance_criteria: Option<String>,
    /// Estimate in story points (0–1,000); null until estimated.
    pub estimate: Option<i32>,
}

/// Backlog mutations: items, their estimates, ranks and status, delivery ownership.
#[derive(Debug, Default)]
pub struct BacklogMutations;

#[Object]
impl BacklogMutations {
    /// PO: creates a backlog item at the bottom of the backlog.
    async fn create_item(
        &self,
        ctx: &Context<'_>,
        input: CreateItemInput,
        options: Option<CommandOptions>,
    ) -> Result<ItemPayload, async_graphql::Error> {
        let pod = PodId(
            from_id("Pod", &input.pod_id, "podId").map_err(|e| ApiError::within(e, "input"))?,
        );
        let item_id = ItemId(new_id(options.as_ref(), "item"));
        let command = PodCommand::CreateItem {
            item_id,
            title: input.title,
            description: input.description,
            output_category: input.output_category,
            acceptance_criteria: input.acceptance_criteria,
            estimate: input.estimate.map(i64::from),
            parent_epic: None,
            requester: None,
        };
        Ok(item_mutation(ctx, pod, item_id, command, options)
            .await
            .map_err(|e| e.within("input"))?)
    }

    /// PO: (re-)estimates an item.
    async fn estimate_item(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        item_id: ID,
        estimate: i32,
        options: Option<CommandOptions>,
    ) -> Result<ItemPayload, async_graphql::Error> {
        let (pod, item_id) = (pod_id!(pod_id), item_id!(item_id));
        let command = PodCommand::EstimateItem {
            item_id,
            estimate: i64::from(estimate),
        };
        Ok(item_mutation(ctx, pod, item_id, command, options).await?)
    }

    /// PO: names the delivery owner, who must accept.
    async fn declare_delivery_owner(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        item_id: ID,
        person_id: ID,
        options: Option<CommandOptions>,
    ) -> Result<ItemPayload, async_graphql::Error> {
        let (pod, item_id) = (pod_id!(pod_id), item_id!(item_id));
        let command = PodCommand::DeclareDeliveryOwner {
            item_id,
            person_id: person_id!(person_id, "personId"),
        };
        Ok(item_mutation(ctx, pod, item_id, command, options).await?)
    }

    /// The named person accepts delivery ownership.
    async fn accept_delivery_ownership(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        item_id: ID,
        options: Option<CommandOptions>,
    ) -> Result<ItemPayload, async_graphql::Error> {
        let (pod, item_id) = (pod_id!(pod_id), item_id!(item_id));
        Ok(item_mutation(
            ctx,
            pod,
            item_id,
            PodCommand::AcceptDeliveryOwnership { item_id },
            options,
        )
        .await?)
    }

    /// The accepted delivery owner moves the item inside the active sprint.
    async fn move_item(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        item_id: ID,
        status: WorkStatusInput,
        options: Option<CommandOptions>,
    ) -> Result<ItemPayload, async_graphql::Error> {
        let (pod, item_id) = (pod_id!(pod_id), item_id!(item_id));
        let status = match status {
            WorkStatusInput::Committed => WorkStatus::Committed,
            WorkStatusInput::InProgress => WorkStatus::InProgress,
            WorkStatusInput::InReview => WorkStatus::InReview,
            WorkStatusInput::Done => WorkStatus::Done,
        };
        Ok(item_mutation(
            ctx,
            pod,
            item_id,
            PodCommand::MoveItem { item_id, status },
            options,
        )
        .await?)
    }

    /// PO: edits an item's text fields; omitted fields stay as they are.
    async fn edit_item(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        item_id: ID,
        title: Option<String>,
        description: Option<String>,
        output_category: Option<String>,
        acceptance_criteria: Option<String>,
        options: Option<CommandOptions>,
    ) -> Result<ItemPayload, async_graphql::Error> {
        let (pod, item_id) = (pod_id!(pod_id), item_id!(item_id));
        let command = PodCommand::EditItem {
            item_id,
            title,
            description,
            output_category,
            acceptance_criteria,
        };
        Ok(item_mutation(ctx, pod, item_id, command, options).await?)
    }

    /// PO: moves an item just above `beforeItemId`, or to the bottom of the backlog.
    async fn rank_item(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        item_id: ID,
        before_item_id: Option<ID>,
        options: Option<CommandOptions>,
    ) -> Result<ItemPayload, async_graphql::Error> {
        let (pod, item_id) = (pod_id!(pod_id), item_id!(item_id));
        let before = before_item_id
            .map(|id| from_id("Item", &id, "beforeItemId").map(ItemId))
            .transpose()?;
        let command = PodCommand::RankItem { item_id, before };
        Ok(item_mutation(ctx, pod, item_id, command, options).await?)
    }

    /// PO: drops an item; inside an active sprint this is also a scope change and needs a reason.
    async fn drop_item(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        item_id: ID,
        reason: Option<ScopeChangeInput>,
        options: Option<CommandOptions>,
    ) -> Result<ItemPayload, async_graphql::Error> {
        let (pod, item_id) = (pod_id!(pod_id), item_id!(item_id));
        let command = PodCommand::DropItem {
            item_id,
            reason: self::reason(reason),
        };
        Ok(item_mutation(ctx, pod, item_id, command, options).await?)
    }

    /// The named person declines delivery ownership.
    async fn decline_delivery_ownership(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        item_id: ID,
        reason: Option<String>,
        options: Option<CommandOptions>,
    ) -> Result<ItemPayload, async_graphql::Error> {
        let (pod, item_id) = (pod_id!(pod_id), item_id!(item_id));
        Ok(item_mutation(
            ctx,
            pod,
            item_id,
            PodCommand::DeclineDeliveryOwnership { item_id, reason },
            options,
        )
        .await?)
    }
}
