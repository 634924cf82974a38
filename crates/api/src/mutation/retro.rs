//! Mutations of retros (SPEC §9.2): record a closed sprint's retro, mark its actions.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use podledger_domain::ids::{PersonId, PodId, RetroActionId, SprintId};
use podledger_domain::pod::{PodCommand, RetroActionItem, RetroOutcome};

use super::{CommandOptions, new_id, on_pod};
use crate::error::ApiResult;
use crate::ids::from_id;
use crate::objects::{self, operating::RetroActionKind};

/// One specific change a retro decides on.
#[derive(InputObject, Debug)]
pub struct RetroActionInput {
    /// The change.
    pub description: String,
    /// Who sees it through: a member of the pod (`Person` id).
    pub owner_id: ID,
    /// What it changes.
    pub kind: RetroActionKind,
}

/// How a retro action ended.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum RetroActionResolution {
    /// The change was made.
    Implemented,
    /// The change was given up (give a `reason`).
    Dropped,
}

/// The result of a retro mutation.
#[derive(SimpleObject, Debug)]
pub struct RetroPayload {
    /// Global position of the command's last event: pass it as `minPosition` to read your
    /// write on any replica (a retry with the same idempotency key answers with the first
    /// attempt's); null when the command changed nothing.
    pub position: Option<String>,
    /// The retro as it is now.
    pub retro: Option<objects::Retro>,
}

/// The result of a retro-action mutation.
#[derive(SimpleObject, Debug)]
pub struct RetroActionPayload {
    /// Global position of the command's last event: pass it as `minPosition` to read your
    /// write on any replica; null when the command changed nothing.
    pub position: Option<String>,
    /// The action as it is now.
    pub action: Option<objects::RetroAction>,
}

/// Retro mutations: record, mark actions.
#[derive(Debug, Default)]
pub struct RetroMutations;

#[Object]
impl RetroMutations {
    /// SM (PO if no SM): records the retro of a closed sprint — what went well, the friction
    /// found, and one or two actions, each owned by a pod member (RETRO_ALREADY_RECORDED for a
    /// second one).
    async fn record_retro(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        sprint_id: ID,
        went_well: String,
        friction: String,
        actions: Vec<RetroActionInput>,
        options: Option<CommandOptions>,
    ) -> Result<RetroPayload, async_graphql::Error> {
        let pod = pod_id!(pod_id);
        let sprint = sprint_id!(sprint_id);
        let mut items = Vec::with_capacity(actions.len());
        for (i, a) in actions.into_iter().enumerate() {
            items.push(RetroActionItem {
                action_id: RetroActionId(new_id(options.as_ref(), &format!("retro action {i}"))),
                description: a.description,
                owner: PersonId(from_id("Person", &a.owner_id, "actions.ownerId")?),
                kind: a.kind.into(),
            });
        }
        let command = PodCommand::RecordRetro {
            sprint_id: sprint,
            went_well,
            friction,
            actions: items,
        };
        Ok(retro_mutation(ctx, pod, sprint, command, options).await?)
    }

    /// The action's owner or the SM (PO if no SM), during the pod's next sprint: marks a retro
    /// action implemented, or dropped with a `reason`.
    async fn resolve_retro_action(
        &self,
        ctx: &Context<'_>,
        pod_id: ID,
        action_id: ID,
        outcome: RetroActionResolution,
        reason: Option<String>,
        options: Option<CommandOptions>,
    ) -> Result<RetroActionPayload, async_graphql::Error> {
        let pod = pod_id!(pod_id);
        let action = RetroActionId(from_id("RetroAction", &action_id, "actionId")?);
        let command = PodCommand::ResolveRetroAction {
            action_id: action,
            outcome: match outcome {
                RetroActionResolution::Implemented => RetroOutcome::Implemented,
                RetroActionResolution::Dropped => RetroOutcome::Dropped(reason.unwrap_or_default()),
            },
        };
        let (position, action) = on_pod(ctx, pod, command, options, |s| {
            objects::operating::retro_action(s, action)
        })
        .await?;
        Ok(RetroActionPayload { position, action })
    }
}

async fn retro_mutation(
    ctx: &Context<'_>,
    pod: PodId,
    sprint: SprintId,
    command: PodCommand,
    options: Option<CommandOptions>,
) -> ApiResult<RetroPayload> {
    let (position, retro) = on_pod(ctx, pod, command, options, |s| {
        objects::operating::retro(s, sprint)
    })
    .await?;
    Ok(RetroPayload { position, retro })
}
