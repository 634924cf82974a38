//! Mutations of blockers: raise, escalate, resolve.

use async_graphql::{Context, ID, Object, SimpleObject};
use podledger_domain::ids::{BlockerId, ItemId, PodId};
use podledger_domain::pod::PodCommand;

use super::{CommandOptions, new_id, on_pod};
use crate::error::ApiResult;
use crate::ids::from_id;
use crate::objects;

/// The result of a blocker mutation.
#[derive(SimpleObject, Debug)]
pub struct BlockerPayload {
    /// Global position of the command's last event: pass it as `minPosition` to read your
    /// write on any replica (a retry with the same idempotency key answers with the first
    /// attempt's); null when the command changed nothing.
    pub position: Option<String>,
    /// The blocker as it is now.
    pub blocker: Option<objects::Blocker>,
}

async fn blocker_mutation(
    ctx: &Context<'_>,
    pod: PodId,
    blocker: BlockerId,
    command: PodCommand,
    options: Option<CommandOptions>,
) -> ApiResult<BlockerPayload> {
    let (position, blocker) = on_pod(ctx, pod, command, options, |s| {
        s.view.blocker(blocker).map(objects::blocker)
    })
    .await?;
    Ok(BlockerPayload { position, blocker })
}

/// Blocker mutations: raise, escalate, resolve.
#[derive(Debug, Default)]
pub struct BlockerMutations;

#[Object]
impl BlockerMutations {
    /// Any pod member raises a blocker on the pod or one of its items.
    async fn raise_blocker(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        item_id: Option<ID>,
        category: objects::BlockerCategory,
        description: String,
        options: Option<CommandOptions>,
    ) -> Result<BlockerPayload, async_graphql::Error> {
        let pod = pod_id!(pod_id);
        let blocker_id = BlockerId(new_id(options.as_ref(), "blocker"));
        let item_id = item_id
            .map(|id| from_id("Item", &id, "itemId").map(ItemId))
            .transpose()?;
        let command = PodCommand::RaiseBlocker {
            blocker_id,
            item_id,
            category: category.into(),
            description,
        };
        Ok(blocker_mutation(ctx, pod, blocker_id, command, options).await?)
    }

    /// SM (PO without SM): escalates a blocker beyond the pod.
    async fn escalate_blocker(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        blocker_id: ID,
        note: Option<String>,
        options: Option<CommandOptions>,
    ) -> Result<BlockerPayload, async_graphql::Error> {
        let pod = pod_id!(pod_id);
        let blocker_id = BlockerId(from_id("Blocker", &blocker_id, "blockerId")?);
        Ok(blocker_mutation(
            ctx,
            pod,
            blocker_id,
            PodCommand::EscalateBlocker { blocker_id, note },
            options,
        )
        .await?)
    }

    /// SM (PO without SM): resolves a blocker.
    async fn resolve_blocker(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        blocker_id: ID,
        resolution: Option<String>,
        options: Option<CommandOptions>,
    ) -> Result<BlockerPayload, async_graphql::Error> {
        let pod = pod_id!(pod_id);
        let blocker_id = BlockerId(from_id("Blocker", &blocker_id, "blockerId")?);
        Ok(blocker_mutation(
            ctx,
            pod,
            blocker_id,
            PodCommand::ResolveBlocker {
                blocker_id,
                resolution,
            },
            options,
        )
        .await?)
    }
}
